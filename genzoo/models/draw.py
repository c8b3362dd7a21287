"""DRAW: a recurrent variational auto-encoder that draws an image on a canvas over T steps.

Gregor, Danihelka, Graves, Rezende and Wierstra, "DRAW: A Recurrent Neural Network For Image
Generation", ICML 2015, https://arxiv.org/abs/1502.04623

At every step t = 1..T (equations 3-8 of the paper)::

    x_hat_t = x - sigmoid(c_{t-1})                       error image
    r_t     = read(x, x_hat_t, h_dec_{t-1})              what the encoder looks at
    h_enc_t = LSTM_enc(h_enc_{t-1}, [r_t, h_dec_{t-1}])
    z_t     ~ Q(z_t | h_enc_t) = N(mu_t, sigma_t^2)      diagonal Gaussian, mu and log sigma linear in h_enc
    h_dec_t = LSTM_dec(h_dec_{t-1}, z_t)
    c_t     = c_{t-1} + write(h_dec_t)                   canvas accumulation

and the image likelihood is Bernoulli with probabilities sigmoid(c_T). The loss of one image is the
reconstruction term -log D(x | c_T) (binary cross-entropy summed over pixels) plus the sum over steps
of KL(Q(z_t | h_enc_t) || N(0, I)), both in nats: a negative evidence lower bound, i.e. an upper bound
on -log p(x). Generation runs the decoder alone on z_t ~ N(0, I).

Read and write come in three kinds (``read=`` / ``write=``):

* ``"linear"``: no attention. read = [x, x_hat] (concatenation), write = a linear map of h_dec.
* ``"attention"``: the paper's Gaussian filterbanks. A linear layer of h_dec gives
  (g~x, g~y, log sigma^2, log delta~, log gamma); an N x N grid of Gaussian filters centred at
  (gx, gy) = ((A+1)/2 (g~x+1), (B+1)/2 (g~y+1)) with stride delta = (max(A,B)-1)/(N-1) delta~ and
  variance sigma^2 (eq. 19-25; pixel coordinates run 1..A as in the paper). read = gamma [F_Y x F_X^T,
  F_Y x_hat F_X^T]; write = (1/gamma^) F^_Y^T w F^_X with w an N x N patch linear in h_dec (eq. 27-29).
  Both attention layers start looking at (writing to) the whole image: centred grid, delta~ = 1,
  filters half a stride wide, and for the write gamma = N^2/(H W) so that a spread-out write is not
  diluted (see ``GaussianAttention.reset_bias``); the paper does not state its initialization.
* ``"conv"`` (genzoo's convolutional variant, not in the paper): read = a two-layer strided conv net on
  [x, x_hat]; write = a linear layer to a 7x7 feature map and two transposed convolutions. The
  recurrent core is unchanged.

The paper's MNIST models: T = 64 steps, 256 LSTM units, 100 latent units per step; read N = 2 and write
N = 5 with attention. The released genzoo checkpoints are smaller (trained on a CPU); see their cards.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genzoo._checks import check_count, check_seed, check_tensor
from genzoo.models._base import GenerativeNetwork

READ_WRITE_KINDS = ("linear", "attention", "conv")
LOG_2PI = math.log(2.0 * math.pi)


# ---- small pure functions -------------------------------------------------------------------
def gaussian_kl(mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) per element, in nats: (mu^2 + sigma^2 - 1)/2 - log sigma."""
    return 0.5 * (mu.square() + torch.exp(2.0 * log_sigma) - 1.0) - log_sigma


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, sigma^2) per element, in nats."""
    return -0.5 * (((z - mu) * torch.exp(-log_sigma)).square() + LOG_2PI) - log_sigma


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(x; sigmoid(logits)) summed over (C, H, W): one number per image, in nats."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def filterbank(
    center: torch.Tensor, delta: torch.Tensor, sigma2: torch.Tensor, grid_size: int, image_side: int
) -> torch.Tensor:
    """The paper's Gaussian filterbank along one axis (eq. 19-20, 25-26).

    Args:
        center: (B,) grid centre g in pixel coordinates 1..image_side.
        delta: (B,) stride between filter centres, in pixels.
        sigma2: (B,) isotropic variance of the filters, in pixels^2.
        grid_size: N, the number of filters.
        image_side: A (or B), the number of pixels along the axis.

    Returns:
        (B, N, image_side) filters; each row is non-negative and sums to 1 over the pixels (the
        paper's normalisation constant Z), computed as a softmax so that narrow filters never divide by 0.
    """
    i = torch.arange(1, grid_size + 1, device=center.device, dtype=center.dtype)
    mu = center[:, None] + (i - grid_size / 2.0 - 0.5) * delta[:, None]  # (B, N) filter centres, eq. 19-20
    a = torch.arange(1, image_side + 1, device=center.device, dtype=center.dtype)
    distance2 = (a[None, None, :] - mu[:, :, None]).square()  # (B, N, A)
    return torch.softmax(-distance2 / (2.0 * sigma2[:, None, None]), dim=-1)


class GaussianAttention(nn.Module):
    """Attention parameters from h_dec (eq. 21-24) and the filterbanks they define."""

    def __init__(self, hidden_size: int, grid_size: int, height: int, width: int, mass_preserving: bool = False) -> None:
        super().__init__()
        self.grid_size, self.height, self.width = grid_size, height, width
        self.params = nn.Linear(hidden_size, 5)
        self.reset_bias(mass_preserving)

    @torch.no_grad()
    def reset_bias(self, mass_preserving: bool = False) -> None:
        """Start with the grid centred on the image, spanning it (delta~ = 1) with filters as wide as half
        the stride, so the first glimpses see (and the first writes reach) every pixel. For the write,
        ``mass_preserving`` sets gamma = N^2 / (H W) so that a constant patch writes about that constant
        to every pixel (with gamma = 1 a spread-out write is diluted H W / N^2 times). The weights keep
        their default initialization; the paper does not say how it initialized these layers.
        """
        n, height, width = self.grid_size, self.height, self.width
        stride = (max(height, width) - 1) / max(n - 1, 1)
        log_gamma = math.log(n * n / (height * width)) if mass_preserving else 0.0
        self.params.bias.copy_(torch.tensor([0.0, 0.0, 2.0 * math.log(max(stride / 2.0, 0.5)), 0.0, log_gamma]))

    def forward(self, h_dec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(F_Y (B, N, H), F_X (B, N, W), gamma (B,)) from h_dec (B, hidden)."""
        gx_, gy_, log_sigma2, log_delta_, log_gamma = self.params(h_dec).unbind(-1)
        return self.filters(gx_, gy_, log_sigma2, log_delta_, log_gamma)

    def filters(self, gx_, gy_, log_sigma2, log_delta_, log_gamma):
        """Filterbanks from the five unconstrained attention parameters (each (B,))."""
        n, height, width = self.grid_size, self.height, self.width
        gx = (width + 1) / 2.0 * (gx_ + 1.0)
        gy = (height + 1) / 2.0 * (gy_ + 1.0)
        delta = (max(height, width) - 1) / max(n - 1, 1) * torch.exp(log_delta_)
        sigma2 = torch.exp(log_sigma2)
        fx = filterbank(gx, delta, sigma2, n, width)
        fy = filterbank(gy, delta, sigma2, n, height)
        return fy, fx, torch.exp(log_gamma)


def attention_read(images: torch.Tensor, fy: torch.Tensor, fx: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """gamma F_Y x F_X^T for images (B, C, H, W) -> glimpses (B, C, N, N) (eq. 27)."""
    return gamma[:, None, None, None] * (fy[:, None] @ images @ fx[:, None].transpose(-1, -2))


def attention_write(patch: torch.Tensor, fy: torch.Tensor, fx: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """(1/gamma) F_Y^T w F_X for patches (B, C, N, N) -> canvas updates (B, C, H, W) (eq. 29)."""
    return (fy[:, None].transpose(-1, -2) @ patch @ fx[:, None]) / gamma[:, None, None, None]


# ---- read and write heads -------------------------------------------------------------------
class LinearRead(nn.Module):
    """No attention: the whole image and error image, concatenated (eq. 17)."""

    def __init__(self, channels: int, size: int) -> None:
        super().__init__()
        self.out_features = 2 * channels * size * size

    def forward(self, x, x_hat, h_dec):
        return torch.cat([x.flatten(1), x_hat.flatten(1)], dim=1)


class AttentionRead(nn.Module):
    """N x N Gaussian glimpses of the image and of the error image, placed by h_dec_{t-1} (eq. 27)."""

    def __init__(self, channels: int, size: int, hidden_size: int, grid_size: int) -> None:
        super().__init__()
        self.attention = GaussianAttention(hidden_size, grid_size, size, size)
        self.out_features = 2 * channels * grid_size * grid_size

    def forward(self, x, x_hat, h_dec):
        fy, fx, gamma = self.attention(h_dec)
        both = torch.cat([x, x_hat], dim=1)  # one batched matmul for the two glimpses
        return attention_read(both, fy, fx, gamma).flatten(1)


class ConvRead(nn.Module):
    """Convolutional variant: two strided convolutions on [x, x_hat] (size/4 x size/4 features out)."""

    def __init__(self, channels: int, size: int, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(2 * channels, width, 4, 2, 1), nn.ReLU(), nn.Conv2d(width, 2 * width, 4, 2, 1), nn.ReLU()
        )
        self.out_features = 2 * width * (size // 4) ** 2

    def forward(self, x, x_hat, h_dec):
        return self.net(torch.cat([x, x_hat], dim=1)).flatten(1)


class LinearWrite(nn.Module):
    """No attention: a linear map from h_dec to the whole canvas update (eq. 18)."""

    def __init__(self, channels: int, size: int, hidden_size: int) -> None:
        super().__init__()
        self.shape = (channels, size, size)
        self.linear = nn.Linear(hidden_size, channels * size * size)

    def forward(self, h_dec):
        return self.linear(h_dec).view(-1, *self.shape)


class AttentionWrite(nn.Module):
    """An N x N patch written through transposed Gaussian filterbanks, placed by h_dec_t (eq. 28-29)."""

    def __init__(self, channels: int, size: int, hidden_size: int, grid_size: int) -> None:
        super().__init__()
        self.attention = GaussianAttention(hidden_size, grid_size, size, size, mass_preserving=True)
        self.patch = nn.Linear(hidden_size, channels * grid_size * grid_size)
        self.patch_shape = (channels, grid_size, grid_size)

    def forward(self, h_dec):
        fy, fx, gamma = self.attention(h_dec)
        return attention_write(self.patch(h_dec).view(-1, *self.patch_shape), fy, fx, gamma)


class ConvWrite(nn.Module):
    """Convolutional variant: h_dec -> (2 width, size/4, size/4) -> two transposed convolutions."""

    def __init__(self, channels: int, size: int, hidden_size: int, width: int) -> None:
        super().__init__()
        self.start = (2 * width, size // 4, size // 4)
        self.linear = nn.Linear(hidden_size, 2 * width * (size // 4) ** 2)
        self.net = nn.Sequential(
            nn.ReLU(), nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(width, channels, 4, 2, 1)
        )

    def forward(self, h_dec):
        return self.net(self.linear(h_dec).view(-1, *self.start))


# ---- the network ----------------------------------------------------------------------------
class DRAW(GenerativeNetwork):
    """DRAW with the paper's Bernoulli likelihood; images are (N, channels, image_size, image_size) in [0, 1].

    Args:
        image_size, channels: the image shape (square images).
        steps: T, the number of glimpses / canvas updates.
        enc_size, dec_size: LSTM units of the encoder and of the decoder.
        latent_dim: units of z_t at each step (the total latent size is steps * latent_dim).
        read, write: "linear" (no attention), "attention" (Gaussian filterbanks) or "conv".
        read_n, write_n: N of the read and write attention grids.
        conv_width: channels of the first conv layer of the "conv" read/write.
    """

    VALUE_RANGE = (0.0, 1.0)  # Bernoulli means: the likelihood fixes the range
    TINY_CONFIG = {"steps": 3, "enc_size": 8, "dec_size": 8, "latent_dim": 4, "conv_width": 4}

    def __init__(
        self,
        image_size: int = 28,
        channels: int = 1,
        steps: int = 64,
        enc_size: int = 256,
        dec_size: int = 256,
        latent_dim: int = 100,
        read: str = "attention",
        write: str = "attention",
        read_n: int = 2,
        write_n: int = 5,
        conv_width: int = 16,
    ) -> None:
        super().__init__(
            image_size=image_size, channels=channels, steps=steps, enc_size=enc_size, dec_size=dec_size,
            latent_dim=latent_dim, read=read, write=write, read_n=read_n, write_n=write_n, conv_width=conv_width,
        )
        for label, kind in (("read", read), ("write", write)):
            if kind not in READ_WRITE_KINDS:
                raise ValueError(f"{label} must be one of {READ_WRITE_KINDS}, got {kind!r}")
        if steps < 1 or image_size < 1 or channels < 1 or latent_dim < 1:
            raise ValueError("steps, image_size, channels and latent_dim must be positive")
        if "conv" in (read, write) and image_size % 4:
            raise ValueError(f"the conv read/write needs an image size divisible by 4, got {image_size}")
        self.image_shape = (channels, image_size, image_size)
        self.steps, self.latent_dim, self.enc_size, self.dec_size = steps, latent_dim, enc_size, dec_size

        if read == "linear":
            self.reader = LinearRead(channels, image_size)
        elif read == "attention":
            self.reader = AttentionRead(channels, image_size, dec_size, read_n)
        else:
            self.reader = ConvRead(channels, image_size, conv_width)
        if write == "linear":
            self.writer = LinearWrite(channels, image_size, dec_size)
        elif write == "attention":
            self.writer = AttentionWrite(channels, image_size, dec_size, write_n)
        else:
            self.writer = ConvWrite(channels, image_size, dec_size, conv_width)
        self.encoder = nn.LSTMCell(self.reader.out_features + dec_size, enc_size)
        self.posterior = nn.Linear(enc_size, 2 * latent_dim)  # (mu, log sigma) of Q(z_t | h_enc_t)
        self.decoder = nn.LSTMCell(latent_dim, dec_size)

    # -- input checks ------------------------------------------------------------------------
    def check_images(self, x: torch.Tensor, binary: bool = False, name: str = "x") -> torch.Tensor:
        """Raise a TypeError / ValueError naming the expected shape / values; return x on the network's device,
        in its dtype. The range [0, 1] is the Bernoulli likelihood's, whatever the network's value range says."""
        x = check_tensor(x, ("N", *self.image_shape), name, "images", (0.0, 1.0), device=self.device, dtype=self.dtype)
        if binary and not ((x == 0) | (x == 1)).all():
            raise ValueError(
                "the Bernoulli likelihood needs binary images (every pixel 0 or 1); binarize first, e.g. "
                "MNISTDataModule(binarize='stochastic') or torch.bernoulli(x) with a fixed generator"
            )
        return x

    # -- the recurrence -----------------------------------------------------------------------
    def _initial_state(self, batch: int, device, dtype):
        def zeros(size: int) -> torch.Tensor:
            return torch.zeros(batch, size, device=device, dtype=dtype)

        return (zeros(self.enc_size), zeros(self.enc_size)), (zeros(self.dec_size), zeros(self.dec_size))

    def encode_decode(self, x: torch.Tensor, noise: torch.Tensor | None = None, return_steps: bool = False):
        """Run the T steps on images x (B, C, H, W) in [0, 1], unchecked (training calls this directly).

        ``noise`` (T, B, latent_dim) is the standard normal eps of the reparameterization
        z_t = mu_t + sigma_t eps_t (drawn from the global generator when None).

        Returns a dict: ``logits`` c_T (B, C, H, W); ``mu``, ``log_sigma``, ``z`` (T, B, latent_dim);
        and with ``return_steps`` the canvases c_1..c_T as ``canvases`` (T, B, C, H, W) logits.
        """
        batch = x.shape[0]
        if noise is None:
            noise = torch.randn(self.steps, batch, self.latent_dim, device=x.device, dtype=x.dtype)
        (h_enc, c_enc), (h_dec, c_dec) = self._initial_state(batch, x.device, x.dtype)
        canvas = torch.zeros_like(x)
        mus, log_sigmas, zs, canvases = [], [], [], []
        for t in range(self.steps):
            x_hat = x - torch.sigmoid(canvas)
            r = self.reader(x, x_hat, h_dec)
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], dim=1), (h_enc, c_enc))
            mu, log_sigma = self.posterior(h_enc).chunk(2, dim=1)
            z = mu + torch.exp(log_sigma) * noise[t]
            h_dec, c_dec = self.decoder(z, (h_dec, c_dec))
            canvas = canvas + self.writer(h_dec)
            mus.append(mu), log_sigmas.append(log_sigma), zs.append(z)
            if return_steps:
                canvases.append(canvas)
        out = {"logits": canvas, "mu": torch.stack(mus), "log_sigma": torch.stack(log_sigmas), "z": torch.stack(zs)}
        if return_steps:
            out["canvases"] = torch.stack(canvases)
        return out

    def loss_terms(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, KL), each (B,) in nats: -log D(x | c_T) and sum_t KL(Q(z_t|h_enc_t) || N(0, I)).

        Their sum is the negative ELBO (the paper's loss L = L^x + L^z, eq. 9-12) of each image.
        """
        out = self.encode_decode(x, noise)
        reconstruction = bernoulli_nll(out["logits"], x)
        kl = gaussian_kl(out["mu"], out["log_sigma"]).sum(dim=(0, 2))
        return reconstruction, kl

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The negative ELBO of each image (B,) in nats (the training loss, before averaging)."""
        x = self.check_images(x)
        if noise is not None:
            shape = (self.steps, len(x), self.latent_dim)
            noise = check_tensor(noise, shape, "noise", "standard normal noise", device=self.device, dtype=self.dtype)
        reconstruction, kl = self.loss_terms(x, noise)
        return reconstruction + kl

    # -- user API -----------------------------------------------------------------------------
    def decode(self, z: torch.Tensor, return_steps: bool = False) -> torch.Tensor:
        """Run the decoder alone on latents z (T', B, latent_dim): canvas logits c_T' (B, C, H, W),
        or every canvas c_1..c_T' (T', B, C, H, W) with ``return_steps``. Bernoulli means are sigmoid(logits)."""
        z = check_tensor(z, ("T", "N", self.latent_dim), "z", "latents", device=self.device, dtype=self.dtype)
        steps, batch, _ = z.shape
        _, (h_dec, c_dec) = self._initial_state(batch, z.device, z.dtype)
        canvas = torch.zeros(batch, *self.image_shape, device=z.device, dtype=z.dtype)
        frames = []
        for t in range(steps):
            h_dec, c_dec = self.decoder(z[t], (h_dec, c_dec))
            canvas = canvas + self.writer(h_dec)
            if return_steps:
                frames.append(canvas)
        return torch.stack(frames) if return_steps else canvas

    def sample(self, n: int, seed: int | None = None, return_steps: bool = False) -> torch.Tensor:
        """Generate ``n`` images from z_t ~ N(0, I): Bernoulli means sigmoid(c_T), (n, C, H, W) in [0, 1].

        With ``return_steps`` the canvas after every step, sigmoid(c_t) for t = 1..T: (T, n, C, H, W).
        The same seed gives the same images on any device.
        """
        n = check_count(n)
        with self.inference_mode():
            z = self.gaussian_noise(self.steps, n, self.latent_dim, seed=seed)
            return torch.sigmoid(self.decode(z, return_steps))

    def reconstruct(self, x: torch.Tensor, seed: int | None = None, return_steps: bool = False) -> torch.Tensor:
        """Encode and redraw images x (B, C, H, W) in [0, 1]: sigmoid(c_T), (B, C, H, W) in [0, 1].

        z_t is sampled from Q (seeded when ``seed`` is given); with ``return_steps`` the canvases
        (T, B, C, H, W).
        """
        x = self.check_images(x)
        with self.inference_mode():
            noise = self.gaussian_noise(self.steps, len(x), self.latent_dim, seed=seed)
            out = self.encode_decode(x, noise, return_steps=return_steps)
            return torch.sigmoid(out["canvases"] if return_steps else out["logits"])

    def nll(
        self, x: torch.Tensor, num_importance_samples: int = 1, seed: int | None = 0, chunk_size: int = 1000
    ) -> torch.Tensor:
        """An upper bound on -log p(x) of each binary image, in nats, shape (B,).

        ``num_importance_samples=1``: the negative ELBO, reconstruction -log D(x|c_T) at one z ~ Q plus the
        closed-form sum of per-step KLs (the paper's bound). K > 1: the importance-weighted bound
        (Burda et al. 2016) -log (1/K) sum_k p(x, z_k) / Q(z_k | x), with z_k ~ Q drawn step by step;
        it is never looser than the ELBO in expectation and tightens as K grows. Divide by
        (C H W ln 2) for bits per dimension. ``seed`` fixes the noise (None: the global generator).
        """
        x = self.check_images(x, binary=True)
        k = check_count(num_importance_samples, "num_importance_samples", "importance samples per image")
        chunk_size = check_count(chunk_size, "chunk_size", "images times importance samples per chunk")
        generator = torch.Generator().manual_seed(check_seed(seed)) if seed is not None else None
        results = []
        with self.inference_mode():
            per_chunk = max(1, chunk_size // k)
            for start in range(0, len(x), per_chunk):
                xs = x[start : start + per_chunk]
                batch = len(xs)
                noise = torch.randn(self.steps, k * batch, self.latent_dim, generator=generator).to(x.device, x.dtype)
                repeated = xs.repeat(k, 1, 1, 1)  # (k * batch): sample k of image i at rows i, batch + i, ...
                # The sums over pixels and steps run in float32 whatever the network's dtype: summed in bfloat16,
                # the bound of a draw-mnist digit comes out about 0.5 nats low (0.1 with float32 sums).
                out = {key: value.float() for key, value in self.encode_decode(repeated, noise).items()}
                log_likelihood = -bernoulli_nll(out["logits"], repeated.float())
                z, mu, log_sigma = out["z"], out["mu"], out["log_sigma"]
                if k == 1:  # the negative ELBO: reconstruction plus the closed-form KL
                    results.append(-log_likelihood + gaussian_kl(mu, log_sigma).sum(dim=(0, 2)))
                    continue
                log_prior = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(dim=(0, 2))
                log_posterior = gaussian_log_density(z, mu, log_sigma).sum(dim=(0, 2))
                log_weights = (log_likelihood + log_prior - log_posterior).view(k, batch)
                results.append(-(torch.logsumexp(log_weights.double(), dim=0) - math.log(k)).float())
        return torch.cat(results)


# ---- the family's facts (each released checkpoint's own facts live in its model_cards/ folder) ----------
PAPER = (
    "Gregor et al., DRAW: A Recurrent Neural Network For Image Generation, ICML 2015 (arXiv:1502.04623)"
)
# The paper's binarized-MNIST test NLL bounds (Table 2), quoted by the cards as {paper:<key>}.
PUBLISHED_RESULTS = {
    "mnist-attention": "<= 80.97 nats (attention, 64 glimpses)",
    "mnist-noattn": "<= 87.40 nats (no attention, 64 steps)",
}
ARCHITECTURES = (DRAW,)
