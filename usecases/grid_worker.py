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

    # Only what parsing needs: every import here is paid once per upload.
    from core.filetype import FileRefused, Limits
    from core.grid import GridError, grid_to_json, read_untrusted, read_untrusted_sheets

    data = sys.stdin.buffer.read()
    limits = Limits(**params["limits"])
    answer: dict[str, object]
    try:
        if "all_sheets" in params:  # every visible sheet (an imported concept)
            grids = read_untrusted_sheets(data, max_rows=int(params["all_sheets"]["max_rows"]), limits=limits)
            answer = {"ok": True, "grids": [grid_to_json(g) for g in grids]}
        else:
            names = params["sheets"]
            grid = read_untrusted(data, sheet_name=names["sheet_name"], meta_sheet_name=names["meta_sheet_name"],
                                  skip_sheets=tuple(names["skip_sheets"]), max_rows=int(names["max_rows"]),
                                  limits=limits)
            answer = {"ok": True, "grid": grid_to_json(grid)}
    except (FileRefused, GridError) as exc:
        answer = {"ok": False, "message": str(exc)}
    except MemoryError:
        answer = {"ok": False, "memory": True}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))


if __name__ == "__main__":
    main()
