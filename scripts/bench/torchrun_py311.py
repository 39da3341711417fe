# torch 1.13's torchrun crashes on Python 3.11 while parsing its --redirects/--tee default "0":
# Std.from_str iterates an IntFlag, and 3.11 no longer yields the zero member (Std.NONE), so
# it returns None. This wrapper fixes that one parser and then runs torchrun unchanged.
import re
import sys

from torch.distributed.elastic.multiprocessing import api


def _from_str(cls, vm):
    if re.fullmatch(r"\d", vm):
        return cls(int(vm))
    if re.fullmatch(r"(\d:\d,)*\d:\d", vm):
        return {int(i): cls(int(v)) for i, v in (m.split(":") for m in vm.split(","))}
    raise ValueError(f"{vm} does not match <digit> or <digit:digit,...>")


api.Std.from_str = classmethod(_from_str)

from torch.distributed.run import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
