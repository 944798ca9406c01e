"""Data parallelism for ``torchrun`` (torch.distributed.run): one process per GPU (or CPU process with gloo).

Only the codebook rows learn, so the only collective is an all-reduce (sum) of their gradient and of the loss sums
of the step: every process takes items ``rank::world`` of the global batch, scales its backward by 1/batch, and after
the all-reduce every process holds the gradient of the whole batch and takes the same AdamW step. Rank 0 alone
validates, writes checkpoints, the variant file and the progress lines.
"""
from __future__ import annotations

import datetime
import os
from typing import Optional, Tuple

import torch


def init(device: str, timeout_s: Optional[float] = None) -> Tuple[int, int, str]:
    """-> (rank, world size, device). Starts the process group when launched by torchrun with WORLD_SIZE > 1.

    timeout_s: how long a collective may wait (torch's default is 30 min; sightline_ldm.batch's one barrier waits for
    the slowest rank, hours on a big job)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    import torch.distributed as dist
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if not dist.is_initialized():
        kw = {} if timeout_s is None else {"timeout": datetime.timedelta(seconds=timeout_s)}
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo", **kw)
    return dist.get_rank(), dist.get_world_size(), device


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    import torch.distributed as dist
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def barrier() -> None:
    import torch.distributed as dist
    dist.barrier()


def finish(world: int) -> None:
    if world > 1:
        import torch.distributed as dist
        dist.barrier()
        dist.destroy_process_group()
