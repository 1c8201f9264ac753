# The SHA-256 of every file GEAR fetches from timbremetrics, run once on a
# byte-identical copy of the repository at gear.timbre.TIMBREMETRICS_COMMIT
# (shared/data/timbremetrics-c611b3a) to make gear/timbremetrics.json:
#     python tests/data/make_timbre_manifest.py PATH/TO/COPY > gear/timbremetrics.json
import hashlib, json, sys
from pathlib import Path
from gear.timbre import TIMBRE_DATASETS, TIMBREMETRICS_COMMIT

root = Path(sys.argv[1])
files = {}
for name in TIMBRE_DATASETS:
    parts = sorted((root / "timbremetrics" / "sounds" / name).glob("*.aiff"))
    parts.append(root / "timbremetrics" / "true_dissim" / f"{name}_dissimilarity_matrix.txt")
    for path in parts:
        files[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
print(json.dumps({"repository": "tiianhk/timbremetrics", "commit": TIMBREMETRICS_COMMIT, "files": files}, indent=1))
