"""What a study's file, experiments/<study>.yaml, says about its report: the question it asks (the
`# Question:` comment at its top) and, for "does X help?" studies, its baseline (a top-level key
`baseline: {l2: 0}`: the configuration every other one is compared with).
"""

import yaml

from netlab.paths import PROJECT_ROOT, slug


def study_file(experiment):
    """experiments/<study>.yaml of a committed study (None for an ad-hoc experiment)."""
    path = PROJECT_ROOT / "experiments" / f"{slug(experiment)}.yaml"  # never outside experiments/
    return path if path.is_file() else None


def question(path):
    """The study's question, from the `# Question:` comment at the top of its file (or None)."""
    if path is None or not path.is_file():
        return None
    lines, started = [], False
    for line in path.read_text().splitlines():
        if line.startswith("# Question:"):
            started = True
            line = line[len("# Question:"):]
        elif not started or not line.startswith("#") or line.startswith("# Run:"):
            if started:
                break
            continue
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines)
    return text[:1].upper() + text[1:] if text else None


def baseline(path):
    """The study's baseline {key: value} from its top-level `baseline:` key (None without one)."""
    if path is None or not path.is_file():
        return None
    tree = yaml.safe_load(path.read_text()) or {}
    found = tree.get("baseline") if isinstance(tree, dict) else None
    if found is None:
        return None
    if not isinstance(found, dict) or not found:
        raise ValueError(f"{path}: baseline must be a mapping of config keys to values, "
                         f"e.g. baseline: {{l2: 0}}")
    return dict(found)


def parse_baseline(pairs):
    """--baseline KEY=VALUE … from the command line -> {key: value} (values read as YAML)."""
    found = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--baseline wants KEY=VALUE, got {pair!r}")
        found[key] = yaml.safe_load(value)
    return found or None
