"""Benchmark results as a terminal table and as the markdown that README shows."""
from __future__ import annotations

from typing import List


def _table_rows(rows: List[dict]) -> List[str]:
    keys = list(rows[0])
    return ['| ' + ' | '.join(keys) + ' |', '|' + '---|' * len(keys)] + \
        ['| ' + ' | '.join(str(r.get(k, '')) for k in keys) + ' |' for r in rows]


def print_report(name: str, result: dict) -> None:
    """Scalars one per line; lists of rows (e.g. scaling by size) as small tables."""
    for key, value in result.items():
        if key.endswith('_confusion'):
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            print(f'{name:<9}{key}')
            for line in _table_rows(value):
                print(f'{"":<9}{line}')
        else:
            print(f'{name:<9}{key:<38}{value}')


def to_markdown(report: dict) -> str:
    """One section per benchmark, headed by the machine and date, ready to paste into README."""
    m = report['machine']
    lines = [f"Measured {report['date']} on {m['cpu_count']} CPU cores ({m['cpu']}, {m['platform']}), "
             f"Python {m['python']}, torch {m['torch']}" + (f", GPU {m['gpu']}" if 'gpu' in m else '')
             + f"; config `{report['config']}`, weights: {report['checkpoint']}"
             + ('; **--quick** sizes (indicative only)' if report['quick'] else '') + '.', '']
    for name, result in report['results'].items():
        lines.append(f'**{name}**')
        lines.append('')
        scalars = {k: v for k, v in result.items() if not isinstance(v, (list, dict))}
        if scalars:
            lines += ['| measure | value |', '|---|---|'] + [f'| {k} | {v} |' for k, v in scalars.items()]
            lines.append('')
        for key, value in result.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                lines += [f'*{key}*', ''] + _table_rows(value) + ['']
    return '\n'.join(lines) + '\n'
