"""Packing: a sweep's configurations that one stack of replicas can hold, launched as one job.

Replicas of one stacked network may differ in the learning rate, the L2 penalty, the optimizer's
numbers, the initialisation and the seeds (netlab.config.PACKABLE), each still trained bit for bit
as it would be alone. So grid jobs whose configs differ in nothing else (`lr=0.01,0.1,1 seeds=10`
on one network: 3 jobs, 30 replicas) become one job that trains them together: Hydra's and the
store's per-job costs are paid once (what each run costs, its tracking above all, remains; see
docs/benchmarks.md).

When packing leaves fewer jobs than the grid has, every job is launched with its first member's
overrides and `pack=[…]`: one entry per member, "<its job number in the grid> <its overrides of
PACKABLE keys>" (a job alone is a pack of one, so that it keeps its number), and
`hydra.sweep.subdir=<the first member's number>`. Where the job runs,
members() makes each member's config and JobContext again, so that each prints its own line,
names and tags its runs, writes its results.yaml into the folder its own job had, and is skipped
or resumed, exactly as the job it would have been.

Packs are split so that every parallel worker has a job, so that a pack's replicas fit the
memory one job may use, and so that no configuration is in two members of one pack (`seed=0,1
seeds=2`: seed 1 is both jobs'; the second finds it FINISHED, as its own job would). Nothing is
packed with `gradcheck=true` (each job checks its own first replica) or under a job folder other
than Hydra's default (the grid sweeper's choice).
"""

import copy
import dataclasses
import json

from omegaconf import OmegaConf, open_dict

from netlab import resources
from netlab.config import PACKABLE, validate

from .jobs import parse_line

PACK_KEY = "pack"


def key_of(line):
    """The config key an override line sets ('lr' of 'lr=0.1', 'experiment' of '+experiment=…')."""
    return line.partition("=")[0].lstrip("+~")


def packable_line(line):
    """Whether a member may carry this line in its pack entry: a plain `key=value` of a PACKABLE
    key whose value needs no quoting (no space, quote or backslash)."""
    key, _, value = line.partition("=")
    return key in PACKABLE and value and not any(c in value for c in " '\"\\,[]{}")


def signature(job, cfg):
    """What members of one pack share: the lines of other keys, as typed, and the config without
    PACKABLE keys; whether l2 is 0 (replicas with and without a penalty are not stacked: see
    nn.TrainingConfig). None: a job that is not packed (a line that cannot go into an entry)."""
    if cfg.get("gradcheck") or cfg.get(PACK_KEY) or any(
            key_of(line) in PACKABLE and not packable_line(line) for line in job):
        return None
    rest = OmegaConf.to_container(cfg, resolve=True)
    for key in PACKABLE:
        node, _, leaf = key.rpartition(".")
        parent = rest.get(node, {}) if node else rest
        if isinstance(parent, dict):
            parent.pop(leaf, None)
    others = tuple(line for line in job if key_of(line) not in PACKABLE)
    return others, json.dumps(rest, sort_keys=True, default=str), cfg.l2 == 0


def pack(grid, configs, workers=1, hashes=None):
    """The jobs to launch for a grid (its jobs' override lines) and their configs: each group of
    jobs with one signature as one job (its first job's lines and `pack=[…]`); groups split to fit
    the memory a job may use, so that no config hash (hashes: each job's set) is in two members
    of a pack, and so that there are at least `workers` jobs when the grid has that many. The
    grid itself when nothing packs."""
    groups = {}
    for i, (job, cfg) in enumerate(zip(grid, configs, strict=True)):
        key = signature(job, cfg)
        groups.setdefault(i if key is None else key, []).append(i)
    packs = []
    for members in groups.values():
        cfg = configs[members[0]]
        need = resources.estimate(cfg)  # per job of cfg.seeds replicas
        fit = max(1, resources.limit_bytes(cfg) // max(1, need.total * workers))
        apart = []  # [(members, their config hashes)]: a member joins the first it shares none
        for i in members:
            own = hashes[i] if hashes is not None else set()
            home = next((p for p in apart if len(p[0]) < fit and not own & p[1]), None)
            if home is None:
                apart.append(([i], set(own)))
            else:
                home[0].append(i)
                home[1].update(own)
        packs += [p for p, _ in apart]
    while len(packs) < min(workers, len(grid)):  # every worker a job: halve the largest pack
        largest = max(packs, key=len)
        packs.remove(largest)
        half = (len(largest) + 1) // 2
        packs += [largest[:half], largest[half:]]
    if len(packs) == len(grid):
        return grid
    packs.sort(key=lambda members: members[0])
    return [launched(grid, members) for members in packs]


def launched(grid, members):
    """The override lines of the job that trains these grid jobs together, in the job folder its
    first member's own job had (Hydra's default folder is the job's number)."""
    entries = [" ".join([str(i), *(line for line in grid[i] if key_of(line) in PACKABLE)])
               for i in members]
    return [*grid[members[0]], f"{PACK_KEY}=[{','.join(repr(e) for e in entries)}]",
            f"hydra.sweep.subdir={members[0]}"]


def members(cfg, context):
    """[(cfg, JobContext)] of each configuration a packed job trains (None for a job that is not
    packed): the job's config with the member's values set as Hydra sets them, its overrides as
    its own job would have had them, its number in the grid, its own job's folder (beside the
    job's when the job's folder is its first member's number, else inside it)."""
    if not cfg.get(PACK_KEY):
        return None
    found, first = [], cfg[PACK_KEY][0].split()[0]
    folder = context.output_dir
    beside = folder is not None and folder.name == first
    for entry in cfg[PACK_KEY]:
        number, *lines = entry.split()
        member = copy.deepcopy(cfg)
        with open_dict(member):
            member[PACK_KEY] = []
            for line in lines:
                override = parse_line(line)
                OmegaConf.update(member, override.key_or_group, override.value(), merge=True)
        validate(member)  # (the sweeper's members were checked as its jobs; a typed pack not)
        own = {key_of(line): line for line in lines}
        overrides = [own.get(key_of(line), line) for line in context.overrides
                     if key_of(line) != PACK_KEY]
        own_folder = None if folder is None else (folder.parent if beside else folder) / number
        if own_folder is not None:
            own_folder.mkdir(parents=True, exist_ok=True)
        found.append((member, dataclasses.replace(context, overrides=overrides,
                                                  job_num=int(number), output_dir=own_folder)))
    return found
