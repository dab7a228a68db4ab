"""The committed studies' reports were made by today's training code (issue 21, item 4): once the
network, the data or the experiment change, `make reports` must make them again before this
passes, so a report in the repository never shows numbers the code would not give."""

import json

import pytest

from netlab.identity import code_hash
from netlab.report import committed


def test_every_committed_report_was_made_by_todays_training_code():
    assert committed.studies(), "no committed study found"
    stale = committed.stale()
    assert not stale, "\n".join(
        f"experiments/{study}/report.md: made by {hashes or 'unrecorded code'}, today's training "
        f"code is {code_hash()}: `make reports` makes it again" for study, hashes in stale)


def test_the_check_names_a_stale_report_and_fails(tmp_path, monkeypatch, capsys):
    """--check against a copy of the experiments folder where one report says it was made by
    other code: it names that report (and only it) with the command that fixes it, exit 1."""
    folder = tmp_path / "experiments"
    for study in ("one", "two"):
        (folder / f"{study}.yaml").parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{study}.yaml").write_text("seeds: 1\n")
        (folder / study).mkdir()
        made_by = [code_hash()] if study == "one" else ["0123456789abcdef"]
        (folder / study / "report-manifest.json").write_text(
            json.dumps({"written_by": "make reports", "training_code": made_by, "files": []}))
    (folder / "draft.yaml").write_text("seeds: 1\n")  # a study without a committed report
    monkeypatch.setattr(committed, "EXPERIMENTS", folder)
    assert committed.studies() == ["one", "two"]
    with pytest.raises(SystemExit) as ended:
        committed.main(["--check"])
    assert ended.value.code == 1
    said = capsys.readouterr().out.splitlines()
    assert said == [f"experiments/two/report.md was made by training code 0123456789, not "
                    f"today's {code_hash()[:10]}: `make reports` makes it again"]
    with pytest.raises(SystemExit) as ended:
        committed.main(["--check", "one"])
    assert ended.value.code == 0
    with pytest.raises(SystemExit) as ended:
        committed.main(["--check", "three"])
    assert "no committed study three; committed: one, two" in str(ended.value)
