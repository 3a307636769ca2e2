"""The included video diffusion model (Ho et al. 2022): schedule, denoiser interface, U-Net,
samplers and conditioning. Never imports `metrics`, `protocols` or `vdbench`."""
