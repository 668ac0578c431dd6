"""Audio feature extraction: RMS, zero-crossing rate and band energies of each frame.

Frames arrive as float32 tensors (from a torchaudio-style loader); the features are classic
NumPy signal processing: a Hann window, an FFT, and sums over frequency bands.

    python examples/signal_features.py
"""
import numpy as np
import torch

from looplift import explain, looplift
from looplift.testing import compare_calls


@looplift(compile=False)
def frame_features(frames: list[torch.Tensor], sample_rate: int, bands: tuple = (0, 300, 1000, 3000, 8000)):
    rows = []
    for frame in frames:
        x = frame.numpy()
        window = np.hanning(x.shape[-1]).astype(np.float32)
        rms = np.sqrt(np.mean(x * x, axis=-1))
        zcr = np.mean(np.abs(np.diff(np.sign(x), axis=-1)) > 0, axis=-1)
        spectrum = np.abs(np.fft.rfft(x * window, axis=-1)) ** 2
        freqs = np.fft.rfftfreq(x.shape[-1], d=1.0 / sample_rate)
        energies = [spectrum[..., (freqs >= lo) & (freqs < hi)].sum(axis=-1) for lo, hi in zip(bands, bands[1:])]
        rows.append(np.stack([rms, zcr, *np.log1p(energies)], axis=-1))
    return np.concatenate(rows)


def audio_frames(seconds=4, sample_rate=16000, frame=512, channels=8, seed=0):
    """Chirps plus noise on a few channels, cut into frames of (channels, frame) samples."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(seconds * sample_rate) / sample_rate
    freq = torch.linspace(100, 5000, channels).view(-1, 1)
    signal = torch.sin(2 * torch.pi * freq * t * (1 + t / seconds)) + 0.1 * torch.randn(channels, len(t), generator=g)
    usable = (len(t) // frame) * frame
    return list(signal[:, :usable].reshape(channels, -1, frame).permute(1, 0, 2).contiguous().unbind(0)), sample_rate


def main():
    frames, rate = audio_frames()
    features = frame_features(frames, rate)
    print(f"{len(frames)} frames of {tuple(frames[0].shape)} -> features {features.shape} ({features.dtype})")
    print("columns: rms, zero-crossing rate, log energy in 0-300, 300-1k, 1k-3k, 3k-8k Hz")
    print("channel 0, first frame:", np.round(features[0], 3))

    compare_calls(frame_features.__wrapped__, frame_features, (frames, rate))
    print("verified: identical to the undecorated function")
    report = explain(frame_features, frames, rate)
    print(f"looplift: {len(report.hoisted)} hoisted, {len(report.rewritten)} rewritten, "
          f"{len(report.skipped)} left as NumPy (python -m looplift show {__file__}:frame_features)")


if __name__ == "__main__":
    main()
