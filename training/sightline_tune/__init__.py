"""Anatomy-grounded weakly supervised prompt tuning (docs/method.md section 4); see README.md in this folder.

Modules: ``codebook`` (which token rows are learnt), ``loss`` (targets with jitter, L_div, L_loc), ``data``
(image-phrase pairs and the per-image latent cache), ``variant`` (the output file), ``train`` (the loop and the
command line ``python -m sightline_tune.train``), ``pairs_file`` (the app's ``--pairs`` file), ``stop`` (graceful stop),
``check`` (``python -m sightline_tune.check``: can this interpreter tune?), ``slurm`` (``--emit-slurm``).
"""
