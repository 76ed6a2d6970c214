"""What `facereact data check` found: problems (the corpus is unusable) and summary lines."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        out = list(self.lines)
        if self.problems:
            out.append(f"{len(self.problems)} problem(s):")
            out += [f"  {p}" for p in self.problems]
        else:
            out.append("corpus OK")
        return "\n".join(out)
