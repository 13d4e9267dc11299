"""Child process that parses one uploaded workbook under memory and CPU limits (see sandbox.py).

Reads the file from stdin and its parameters from argv[1] (JSON); writes one JSON object to stdout.
"""

from __future__ import annotations

import json
import resource
import sys


def main() -> None:
    params = json.loads(sys.argv[1])
    memory = int(params["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(params["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    from fko.core.filetype import FileRefused, Limits
    from fko.core.grid import GridError, grid_to_json
    from fko.core.sheet_spec import load_spec
    from fko.core.workbook_read import read_grid

    data = sys.stdin.buffer.read()
    spec = load_spec(__import__("pathlib").Path(params["templates_dir"]))
    limits = Limits(**params["limits"])
    try:
        grid = read_grid(data, spec=spec, limits=limits)
    except (FileRefused, GridError) as exc:
        answer = {"ok": False, "message": str(exc)}
    except MemoryError:
        answer = {"ok": False, "memory": True}
    else:
        answer = {"ok": True, "grid": grid_to_json(grid)}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))


if __name__ == "__main__":
    main()
