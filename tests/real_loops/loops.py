"""Realistic loops in the style of public PyTorch projects, each with an expert's version.

Each loop is a plain function (the tests decorate a fresh copy per mode).  Lines that convert
between torch and NumPy or read tensor data on the host end in ``# conv``: ``explain()`` must say
what happened to each of them.  The *expert* version is what a senior engineer writes by hand for
an accelerator: device-side accumulators, one ``torch.cat``/``torch.stack`` and one transfer where
the values leave; it returns exactly what the original returns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import data as D

# =============================================================================================
# Evaluation loops


def evaluate_loss_acc(model, loader, criterion):
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            total_loss += loss.item() * inputs.size(0)  # conv
            _, predicted = outputs.max(1)
            correct += predicted.eq(targets).sum().item()  # conv
            seen += targets.size(0)
    return total_loss / seen, 100.0 * correct / seen


def evaluate_loss_acc_expert(model, loader, criterion):
    model.eval()
    total_loss = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    seen = 0
    with torch.no_grad():
        for inputs, targets in loader:
            outputs = model(inputs)
            total_loss += criterion(outputs, targets).double() * inputs.size(0)
            correct += outputs.max(1)[1].eq(targets).sum()
            seen += targets.size(0)
    total, hits = torch.stack([total_loss, correct.double()]).tolist()
    return total / seen, 100.0 * int(hits) / seen


def predict_dataloader(model, loader):
    model.eval()
    preds, labels = [], []
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            preds.append(out.argmax(1).cpu().numpy())  # conv
            labels.append(y.numpy())  # conv
    preds = np.concatenate(preds)
    labels = np.concatenate(labels)
    return preds, labels, float((preds == labels).mean())


def predict_dataloader_expert(model, loader):
    model.eval()
    preds, labels = [], []
    with torch.no_grad():
        for x, y in loader:
            preds.append(model(x).argmax(1))
            labels.append(y)
    preds = torch.cat(preds).cpu().numpy()
    labels = torch.cat(labels).numpy()
    return preds, labels, float((preds == labels).mean())


def evaluate_probs(net, batches, loss_fn):
    net.eval()
    losses, probs = [], []
    with torch.no_grad():
        for x, y in batches:
            logits = net(x)
            losses.append(loss_fn(logits, y).item())  # conv
            probs.append(torch.softmax(logits, -1).max(-1).values.cpu().numpy())  # conv
    return float(np.mean(losses)), np.concatenate(probs)


def evaluate_probs_expert(net, batches, loss_fn):
    net.eval()
    losses, probs = [], []
    with torch.no_grad():
        for x, y in batches:
            logits = net(x)
            losses.append(loss_fn(logits, y))
            probs.append(torch.softmax(logits, -1).max(-1).values)
    mean = torch.stack(losses).double().mean()
    flat = torch.cat([torch.cat(probs).double(), mean.reshape(1)]).cpu().numpy()
    return float(flat[-1]), flat[:-1].astype(np.float32)


def evaluate_dict_batches(model, loader):
    model.eval()
    accs = []
    with torch.no_grad():
        for batch in loader:
            x, y = batch["image"], batch["label"]
            out = model(x)
            accs.append((out.argmax(1) == y).float().mean().item())  # conv
    return sum(accs) / len(accs)


def evaluate_dict_batches_expert(model, loader):
    model.eval()
    accs = []
    with torch.no_grad():
        for batch in loader:
            accs.append((model(batch["image"]).argmax(1) == batch["label"]).float().mean())
    return sum(torch.stack(accs).tolist()) / len(accs)


def topk_accuracy(model, loader, ks=(1, 2)):
    model.eval()
    correct = {k: 0.0 for k in ks}
    total = 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            _, pred = out.topk(max(ks), 1, True, True)
            hit = pred.eq(y.view(-1, 1).expand_as(pred))
            for k in ks:
                correct[k] += hit[:, :k].reshape(-1).float().sum(0).item()  # conv
            total += y.size(0)
    return {k: 100.0 * correct[k] / total for k in ks}


def topk_accuracy_expert(model, loader, ks=(1, 2)):
    model.eval()
    correct = torch.zeros(len(ks), dtype=torch.float64)
    total = 0
    with torch.no_grad():
        for x, y in loader:
            _, pred = model(x).topk(max(ks), 1, True, True)
            hit = pred.eq(y.view(-1, 1).expand_as(pred))
            correct += torch.stack([hit[:, :k].reshape(-1).float().sum(0) for k in ks]).double()
            total += y.size(0)
    return {k: 100.0 * c / total for k, c in zip(ks, correct.tolist())}


def per_sample_losses(model, loader):
    all_losses = []
    with torch.no_grad():
        for x, y in loader:
            l = F.cross_entropy(model(x), y, reduction="none")
            all_losses.extend(l.tolist())  # conv
    return np.array(all_losses)


def per_sample_losses_expert(model, loader):
    with torch.no_grad():
        ls = [F.cross_entropy(model(x), y, reduction="none") for x, y in loader]
    return torch.cat(ls).double().numpy()


def first_bad_batch(model, loader, limit):
    with torch.no_grad():
        for i, (x, y) in enumerate(loader):
            loss = F.cross_entropy(model(x), y).item()  # conv
            if loss > limit:
                return i, loss
    return -1, None


def collect_scores(model, loader, k):
    scores = []
    with torch.no_grad():
        for x, _ in loader:
            s = torch.softmax(model(x), -1)[:, 0].cpu().numpy()  # conv
            scores.extend(s.tolist())  # conv
            if len(scores) >= k:
                break
    return sorted(scores, reverse=True)[:k]


def collect_scores_expert(model, loader, k):
    scores, n = [], 0
    with torch.no_grad():
        for x, _ in loader:
            s = torch.softmax(model(x), -1)[:, 0]
            scores.append(s)
            n += s.shape[0]
            if n >= k:
                break
    return sorted(torch.cat(scores).tolist(), reverse=True)[:k]


def ensemble_predict(models, x):
    outs = [m(x).softmax(-1).detach().numpy() for m in models]  # conv
    avg = np.mean(outs, axis=0)
    return avg, avg.argmax(1)


def ensemble_predict_expert(models, x):
    avg = torch.stack([m(x).softmax(-1).detach() for m in models]).mean(0)
    both = torch.cat([avg, avg.argmax(1, keepdim=True).float()], 1).numpy()
    return np.ascontiguousarray(both[:, :-1]), both[:, -1].astype(np.int64)


def mc_dropout_predict(model, x, n_samples):
    model.train()
    samples = []
    with torch.no_grad():
        for _ in range(n_samples):
            samples.append(torch.sigmoid(model(x)).cpu().numpy())  # conv
    s = np.stack(samples)
    return s.mean(0), s.std(0)


def mc_dropout_predict_expert(model, x, n_samples):
    model.train()
    with torch.no_grad():
        s = torch.stack([torch.sigmoid(model(x)) for _ in range(n_samples)])
    # NumPy's std subtracts the mean and averages the squares, in the input's dtype
    both = torch.stack([s.mean(0), (s - s.mean(0)).pow(2).mean(0).sqrt()]).cpu().numpy()
    return both[0], both[1]


def pair_similarities(encoder, pairs):
    sims = []
    with torch.no_grad():
        for a, b in pairs:
            ea, eb = encoder(a), encoder(b)
            sims.append(F.cosine_similarity(ea, eb).cpu().numpy())  # conv
    sims = np.concatenate(sims)
    return sims, float((sims > 0.5).mean())


def pair_similarities_expert(encoder, pairs):
    with torch.no_grad():
        sims = torch.cat([F.cosine_similarity(encoder(a), encoder(b)) for a, b in pairs]).cpu().numpy()
    return sims, float((sims > 0.5).mean())


def retrieval_scores(encoder, queries, index):
    top = []
    with torch.no_grad():
        for q in queries:
            qv = encoder(q).numpy()  # conv
            scores = qv @ index.T
            top.append(np.argsort(-scores, axis=1)[:, :3])
    return np.concatenate(top)


def retrieval_scores_expert(encoder, queries, index):
    idx = torch.from_numpy(index)
    with torch.no_grad():
        q = torch.cat([encoder(q) for q in queries])
    return torch.argsort(-(q @ idx.T), dim=1, stable=True)[:, :3].numpy()


def greedy_decode(decoder, h, max_len, eos):
    tokens = []
    tok = torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        for _ in range(max_len):
            logits, h = decoder(tok, h)
            tok = logits.argmax(-1)
            t = int(tok)  # conv
            if t == eos:
                break
            tokens.append(t)
    return tokens


# =============================================================================================
# Metrics on NumPy views of predictions


def precision_recall(model, loader, threshold=0.5):
    tp = fp = fn = 0
    with torch.no_grad():
        for x, y in loader:
            prob = torch.sigmoid(model(x)).squeeze(1)
            pred = (prob.numpy() > threshold).astype(np.int64)  # conv
            t = y.numpy()  # conv
            tp += int(((pred == 1) & (t == 1)).sum())  # conv
            fp += int(((pred == 1) & (t == 0)).sum())  # conv
            fn += int(((pred == 0) & (t == 1)).sum())  # conv
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def precision_recall_expert(model, loader, threshold=0.5):
    counts = torch.zeros(3, dtype=torch.int64)
    with torch.no_grad():
        for x, y in loader:
            pred = (torch.sigmoid(model(x)).squeeze(1) > threshold).long()
            counts += torch.stack([((pred == 1) & (y == 1)).sum(), ((pred == 1) & (y == 0)).sum(),
                                   ((pred == 0) & (y == 1)).sum()])
    tp, fp, fn = counts.tolist()
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def mean_iou(model, images, masks, num_classes):
    ious = []
    with torch.no_grad():
        for img, mask in zip(images, masks):
            pred = model(img.unsqueeze(0)).argmax(1)[0].cpu().numpy()  # conv
            gt = mask.numpy()  # conv
            for c in range(num_classes):
                inter = np.logical_and(pred == c, gt == c).sum()
                union = np.logical_or(pred == c, gt == c).sum()
                if union > 0:
                    ious.append(inter / union)
    return float(np.mean(ious))


def mean_iou_expert(model, images, masks, num_classes):
    rows = []
    with torch.no_grad():
        for img, mask in zip(images, masks):
            pred = model(img.unsqueeze(0)).argmax(1)[0]
            classes = torch.arange(num_classes).view(-1, 1, 1)
            p, g = pred == classes, mask == classes
            rows.append(torch.stack([(p & g).sum((1, 2)), (p | g).sum((1, 2))], 1))
    counts = torch.cat(rows).numpy()
    inter, union = counts[:, 0], counts[:, 1]
    keep = union > 0
    return float(np.mean(inter[keep] / union[keep]))


def confusion_matrix(model, loader, k):
    cm = np.zeros((k, k), dtype=np.int64)
    with torch.no_grad():
        for x, y in loader:
            p = model(x).argmax(1).numpy()  # conv
            for t_, p_ in zip(y.numpy(), p):  # conv
                cm[t_, p_] += 1
    return cm


def confusion_matrix_expert(model, loader, k):
    cm = torch.zeros(k * k, dtype=torch.int64)
    with torch.no_grad():
        for x, y in loader:
            cm += torch.bincount(y * k + model(x).argmax(1), minlength=k * k)
    return cm.reshape(k, k).numpy()


def class_accuracy(model, loader, k):
    hits = np.zeros(k)
    counts = np.zeros(k)
    with torch.no_grad():
        for x, y in loader:
            pred = model(x).argmax(1).numpy()  # conv
            yy = y.numpy()  # conv
            np.add.at(counts, yy, 1)
            np.add.at(hits, yy, pred == yy)
    return hits / np.maximum(counts, 1)


def class_accuracy_expert(model, loader, k):
    hits = torch.zeros(k, dtype=torch.float64)
    counts = torch.zeros(k, dtype=torch.float64)
    with torch.no_grad():
        for x, y in loader:
            pred = model(x).argmax(1)
            counts.index_add_(0, y, torch.ones(len(y), dtype=torch.float64))
            hits.index_add_(0, y, (pred == y).double())
    return (hits / counts.clamp(min=1)).numpy()


def mae_per_batch(preds, targets):
    errs = []
    for p, t in zip(preds, targets):
        errs.append(np.abs(p.detach().numpy() - t.numpy()).mean())  # conv
    return errs, float(np.mean(errs))


def mae_per_batch_expert(preds, targets):
    errs = torch.stack([(p.detach() - t).abs().mean() for p, t in zip(preds, targets)]).numpy()
    return list(errs), float(np.mean(errs))


# =============================================================================================
# Datasets, features, statistics


def sample_brightness(dataset):
    means, labels = [], []
    for sample in dataset:
        img = sample["pixels"].numpy()  # conv
        means.append(img.mean())
        labels.append(int(sample["label"]))  # conv
    return np.array(means), labels


def sample_brightness_expert(dataset):
    means = torch.stack([s["pixels"].mean() for s in dataset])
    labels = torch.stack([s["label"] for s in dataset]).tolist()
    return means.numpy(), labels


def extract_features(model, loader):
    feats, ys = [], []
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            f = model.features(x).flatten(1)
            feats.append(f.cpu().numpy())  # conv
            ys.append(y.cpu().numpy())  # conv
    return np.concatenate(feats), np.concatenate(ys)


def extract_features_expert(model, loader):
    feats, ys = [], []
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            feats.append(model.features(x).flatten(1))
            ys.append(y)
    return torch.cat(feats).cpu().numpy(), torch.cat(ys).cpu().numpy()


def channel_stats(images):
    s = np.zeros(3)
    sq = np.zeros(3)
    n = 0
    for img in images:
        a = img.numpy().astype(np.float64)  # conv
        s += a.sum(axis=(1, 2))
        sq += (a ** 2).sum(axis=(1, 2))
        n += a.shape[1] * a.shape[2]
    mean = s / n
    return mean, np.sqrt(sq / n - mean ** 2)


def channel_stats_expert(images):
    s = torch.zeros(3, dtype=torch.float64)
    sq = torch.zeros(3, dtype=torch.float64)
    n = 0
    for img in images:
        a = img.double()
        s += a.sum((1, 2))
        sq += (a ** 2).sum((1, 2))
        n += a.shape[1] * a.shape[2]
    mean = s / n
    both = torch.stack([mean, torch.sqrt(sq / n - mean ** 2)]).numpy()
    return both[0], both[1]


def loader_channel_means(loader):
    means = []
    for (x,) in loader:
        means.append(x.numpy().mean(axis=(0, 2, 3)))  # conv
    return np.mean(means, axis=0)


def loader_channel_means_expert(loader):
    return torch.stack([x.mean((0, 2, 3)) for (x,) in loader]).numpy().mean(axis=0)


def token_histogram(batches, vocab):
    counts = np.zeros(vocab, dtype=np.int64)
    lengths = []
    for ids in batches:
        a = ids.numpy()  # conv
        counts += np.bincount(a.ravel(), minlength=vocab)
        lengths.append(int((a != 0).sum()))
    return counts, lengths


def token_histogram_expert(batches, vocab):
    counts = torch.zeros(vocab, dtype=torch.int64)
    lengths = []
    for ids in batches:
        counts += torch.bincount(ids.reshape(-1), minlength=vocab)
        lengths.append((ids != 0).sum())
    flat = torch.cat([counts, torch.stack(lengths)]).numpy()
    return flat[:vocab], flat[vocab:].tolist()


def mask_coverage(masks):
    cover = []
    nnz = 0
    for m in masks:
        cover.append(m.numpy().mean())  # conv
        nnz += int(m.sum())  # conv
    return cover, nnz


def mask_coverage_expert(masks):
    stacked = torch.stack(masks)
    flat = stacked.reshape(len(masks), -1)
    both = torch.stack([flat.double().mean(1), flat.sum(1).double()]).numpy()
    return list(both[0]), int(both[1].sum())


def sequence_lengths(masks):
    lengths = []
    for mask in masks:
        lengths.append(mask.sum().item())  # conv
    return lengths, max(lengths)


def sequence_lengths_expert(masks):
    lengths = torch.stack([m.sum() for m in masks]).tolist()
    return lengths, max(lengths)


def log_likelihood(chunks):
    ll = 0.0
    for c in chunks:
        ll += float(torch.log(c).sum())  # conv
    return ll


def log_likelihood_expert(chunks):
    ll = torch.zeros((), dtype=torch.float64)
    for c in chunks:
        ll += torch.log(c).sum()
    return float(ll)


def layer_norms(tensors):
    return [np.linalg.norm(t.numpy()) for t in tensors]  # conv


def layer_norms_expert(tensors):
    return list(torch.stack([torch.linalg.vector_norm(t) for t in tensors]).numpy())


def max_abs_weights(weights):
    out = []
    for w in weights:
        arr = w.detach().numpy()  # conv
        out.append(np.abs(arr).max())
    return np.array(out)


def max_abs_weights_expert(weights):
    return torch.stack([w.detach().abs().max() for w in weights]).numpy()


def totals_mixed_dtypes(values):
    out = []
    for t in values:
        out.append(t.numpy().sum())  # conv
    return out


def flatten_mixed(values):
    total = 0.0
    parts = []
    for v in values:
        a = v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)  # conv
        parts.append(a.ravel())
        total += float(a.sum())
    return np.concatenate(parts), total


def scaled_abs_concat(batches):
    outs = []
    for t in batches:
        outs.append(np.abs(t.cpu().numpy()) * 2.0)  # conv
    return np.concatenate(outs)


def scaled_abs_concat_expert(batches):
    return (torch.cat([t.abs() for t in batches]) * 2.0).cpu().numpy()


def norms_of_mixed(values):
    out = []
    for v in values:
        out.append(np.linalg.norm(np.asarray(v)))  # conv
    return out


def guarded_mix(values):
    outs = []
    total = 0.0
    for v in values:
        a = v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v  # conv
        outs.append(np.abs(a) * 2.0)
        total += float(np.linalg.norm(a))  # conv
    return np.concatenate(outs), total


def check_finite(outputs):
    stats = []
    for i, o in enumerate(outputs):
        a = o.detach().numpy()  # conv
        if not np.isfinite(a).all():
            raise ValueError(f"non-finite output in batch {i}")
        stats.append(a.mean())
    return stats


def check_finite_expert(outputs):
    stacked = torch.stack([o.detach() for o in outputs])
    flat = stacked.reshape(len(outputs), -1)
    both = torch.stack([flat.isfinite().all(1).float(), flat.mean(1)], 1).numpy()
    for i, (ok, mean) in enumerate(both):
        if not ok:
            raise ValueError(f"non-finite output in batch {i}")
    return list(both[:, 1])


# =============================================================================================
# Parameters and gradients


def grad_norms(model, x):
    model.zero_grad()
    model(x).pow(2).mean().backward()
    norms = {}
    total = 0.0
    for name, w in model.named_parameters():
        if w.grad is None:
            continue
        g = w.grad.cpu().numpy()  # conv
        n = np.linalg.norm(g)
        norms[name] = n
        total += n ** 2
    return norms, np.sqrt(total)


def grad_norms_expert(model, x):
    model.zero_grad()
    model(x).pow(2).mean().backward()
    named = [(name, w.grad) for name, w in model.named_parameters() if w.grad is not None]
    host = torch.stack([torch.linalg.vector_norm(g) for _, g in named]).cpu().numpy()
    norms = {name: n for (name, _), n in zip(named, host)}
    total = 0.0
    for n in host:
        total += n ** 2
    return norms, np.sqrt(total)


def weight_report(model):
    rows = []
    for name, p in model.named_parameters():
        a = p.detach().cpu().numpy()  # conv
        rows.append((name, a.shape, float(a.mean()), float(a.std()), float(np.abs(a).max())))
    return rows


def weight_report_expert(model):
    named = list(model.named_parameters())
    stats = torch.stack([torch.stack([p.detach().mean(), p.detach().std(unbiased=False), p.detach().abs().max()])
                         for _, p in named]).tolist()
    return [(name, tuple(p.shape), *s) for (name, p), s in zip(named, stats)]


def snapshot_state(model):
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}  # conv


def snapshot_state_expert(model):
    state = model.state_dict()
    flat = torch.cat([v.detach().reshape(-1) for v in state.values()]).cpu().numpy()
    out, at = {}, 0
    for k, v in state.items():
        out[k] = flat[at:at + v.numel()].reshape(tuple(v.shape)).copy()
        at += v.numel()
    return out


def sparsity_report(model, threshold):
    report = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            w = module.weight.detach().numpy()  # conv
            report.append((name, float((np.abs(w) < threshold).mean())))
    return report


def sparsity_report_expert(model, threshold):
    named = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    fr = torch.stack([(m.weight.detach().abs() < threshold).double().mean() for _, m in named]).tolist()
    return [(name, f) for (name, _), f in zip(named, fr)]


# =============================================================================================
# Training loops


def train_history(model, loader, lr):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    hist = {"loss": [], "acc": []}
    model.train()
    for x, y in loader:
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        hist["loss"].append(loss.item())  # conv
        hist["acc"].append((out.argmax(1) == y).float().mean().item())  # conv
    return hist


def train_history_expert(model, loader, lr):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses, accs = [], []
    model.train()
    for x, y in loader:
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
        accs.append((out.argmax(1) == y).float().mean())
    both = torch.stack([torch.stack(losses), torch.stack(accs)]).tolist()
    return {"loss": both[0], "acc": both[1]}


def train_epoch_logged(model, loader, lr, log_every=3):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    running = 0.0
    history = []
    for i, (x, y) in enumerate(loader):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        running += loss.item()  # conv
        if i % log_every == log_every - 1:
            print(f"[{i + 1}] loss: {running / log_every:.4f}")
            history.append(running / log_every)
            running = 0.0
    return history


def train_epoch_logged_expert(model, loader, lr, log_every=3):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    running = []
    history = []
    for i, (x, y) in enumerate(loader):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        running.append(loss.detach())
        if i % log_every == log_every - 1:
            total = 0.0
            for v in torch.stack(running).tolist():
                total += v
            print(f"[{i + 1}] loss: {total / log_every:.4f}")
            history.append(total / log_every)
            running = []
    return history


def train_epochs(model, data, epochs, lr):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    epoch_losses = []
    for epoch in range(epochs):
        total = 0.0
        for x, y in data:
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            total += loss.item()  # conv
        epoch_losses.append(total / len(data))
    return epoch_losses


def train_epochs_expert(model, data, epochs, lr):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        for x, y in data:
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
    values = torch.stack(losses).tolist()
    out = []
    for e in range(epochs):
        total = 0.0
        for v in values[e * len(data):(e + 1) * len(data)]:
            total += v
        out.append(total / len(data))
    return out


def fit_until(model, x, y, lr, tol, max_steps):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    step = 0
    while step < max_steps:
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())  # conv
        if loss.item() < tol:  # conv
            break
        step += 1
    return losses, step


def fit_until_expert(model, x, y, lr, tol, max_steps):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    step = 0
    while step < max_steps:
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        value = loss.item()
        losses.append(value)
        if value < tol:
            break
        step += 1
    return losses, step


def discriminator_scores(D_, G_, real_batches, z_dim):
    d_real = d_fake = 0.0
    with torch.no_grad():
        for x in real_batches:
            z = torch.randn(x.size(0), z_dim)
            d_real += D_(x).mean().item()  # conv
            d_fake += D_(G_(z)).mean().item()  # conv
    n = len(real_batches)
    return d_real / n, d_fake / n


def discriminator_scores_expert(D_, G_, real_batches, z_dim):
    scores = []
    with torch.no_grad():
        for x in real_batches:
            z = torch.randn(x.size(0), z_dim)
            scores.append(torch.stack([D_(x).mean(), D_(G_(z)).mean()]))
    d_real = d_fake = 0.0
    for r, f in torch.stack(scores).tolist():
        d_real += r
        d_fake += f
    n = len(real_batches)
    return d_real / n, d_fake / n


# =============================================================================================
# Reinforcement learning


def discounted_returns(rewards, gamma=0.99):
    R = 0.0
    returns = []
    for r in reversed(rewards):
        R = r.item() + gamma * R  # conv
        returns.insert(0, R)
    returns = np.array(returns, dtype=np.float32)
    return (returns - returns.mean()) / (returns.std() + 1e-8)


def discounted_returns_expert(rewards, gamma=0.99):
    R = 0.0
    returns = []
    for r in reversed(torch.stack(rewards).tolist()):
        R = r + gamma * R
        returns.insert(0, R)
    returns = np.array(returns, dtype=np.float32)
    return (returns - returns.mean()) / (returns.std() + 1e-8)


def reinforce_loss(log_probs, rewards, gamma=0.99, eps=1e-8):
    R = 0
    returns = []
    for r in rewards[::-1]:
        R = r + gamma * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    policy_loss = []
    for log_prob, R in zip(log_probs, returns):
        policy_loss.append(-log_prob * R)
    return torch.cat(policy_loss).sum()


def gae_numpy(rewards, values, dones, gamma=0.99, lam=0.95):
    values = values.detach().cpu().numpy()  # conv
    adv = np.zeros(len(rewards), dtype=np.float32)
    gae = 0.0
    for t in reversed(range(len(rewards))):
        next_value = values[t + 1] if t + 1 < len(values) else 0.0
        delta = rewards[t] + gamma * next_value * (1 - dones[t]) - values[t]
        gae = delta + gamma * lam * (1 - dones[t]) * gae
        adv[t] = gae
    return adv, adv + values[:len(rewards)]


def gae_tensors(rewards, values, masks, gamma=0.99, tau=0.95):
    gae = 0
    returns = []
    for step in reversed(range(len(rewards))):
        delta = rewards[step] + gamma * values[step + 1] * masks[step] - values[step]
        gae = delta + gamma * tau * masks[step] * gae
        returns.insert(0, gae + values[step])
    return returns


def normalize_rewards(episode_rewards):
    rs = np.array([r.item() for r in episode_rewards])  # conv
    return (rs - rs.mean()) / (rs.std() + 1e-8)


def normalize_rewards_expert(episode_rewards):
    rs = torch.stack(episode_rewards).double()
    return ((rs - rs.mean()) / (rs.std(unbiased=False) + 1e-8)).numpy()


def episode_stats(env_rewards):
    ep_returns = []
    ep_lengths = []
    for ep in env_rewards:
        ep_returns.append(float(ep.sum()))  # conv
        ep_lengths.append(len(ep))
    return np.mean(ep_returns), np.max(ep_returns), int(np.sum(ep_lengths))


def episode_stats_expert(env_rewards):
    sums = torch.stack([ep.sum().double() for ep in env_rewards]).numpy()
    # ``float(ep.sum())`` reads a float32 sum: the same value as the float64 of it
    return np.mean(sums), np.max(sums), int(np.sum([len(ep) for ep in env_rewards]))


def ema_loss(losses, beta=0.9):
    ema = None
    trace = []
    for l in losses:
        v = l.item()  # conv
        ema = v if ema is None else beta * ema + (1 - beta) * v
        trace.append(ema)
    return trace


def ema_loss_expert(losses, beta=0.9):
    ema = None
    trace = []
    for v in torch.stack(losses).tolist():
        ema = v if ema is None else beta * ema + (1 - beta) * v
        trace.append(ema)
    return trace


def reward_curve(rewards):
    running = 0.0
    curve = []
    for r in rewards:
        running += r.item()  # conv
        curve.append(running)
    return curve


def reward_curve_expert(rewards):
    running = 0.0
    curve = []
    for r in torch.stack(rewards).tolist():
        running += r
        curve.append(running)
    return curve


def evaluate_with_history(model, loader):
    losses, accs = [], []
    history = {"loss": losses, "acc": accs}
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            losses.append(F.cross_entropy(out, y).item())  # conv
            accs.append((out.argmax(1) == y).float().mean().item())  # conv
    return history


def evaluate_with_history_expert(model, loader):
    rows = []
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            rows.append(torch.stack([F.cross_entropy(out, y), (out.argmax(1) == y).float().mean()]))
    values = torch.stack(rows).T.tolist()
    return {"loss": values[0], "acc": values[1]}


def best_epoch(model, data, epochs, lr):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    best, best_at = float("inf"), -1
    for epoch in range(epochs):
        total = 0.0
        for x, y in data:
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            total += loss.item()  # conv
        if total < best:
            best, best_at = total, epoch
    return best, best_at


def while_next_iter(model, loader, steps):
    it = iter(loader)
    losses = []
    step = 0
    while step < steps:
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(loader)
            x, y = next(it)
        with torch.no_grad():
            losses.append(F.cross_entropy(model(x), y).item())  # conv
        step += 1
    return np.mean(losses)


def while_next_iter_expert(model, loader, steps):
    it = iter(loader)
    losses = []
    step = 0
    while step < steps:
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(loader)
            x, y = next(it)
        with torch.no_grad():
            losses.append(F.cross_entropy(model(x), y))
        step += 1
    return np.mean(torch.stack(losses).tolist())


def dataloader_dict_stats(loader):
    means, labels = [], []
    for batch in loader:
        means.append(batch["pixels"].mean(dim=(1, 2, 3)).numpy())  # conv
        labels.append(batch["label"].numpy())  # conv
    return np.concatenate(means), np.concatenate(labels)


def dataloader_dict_stats_expert(loader):
    means, labels = [], []
    for batch in loader:
        means.append(batch["pixels"].mean(dim=(1, 2, 3)))
        labels.append(batch["label"])
    return torch.cat(means).numpy(), torch.cat(labels).numpy()


def hard_batches(model, loader, threshold):
    losses = []
    with torch.no_grad():
        for x, y in loader:
            losses.append(F.cross_entropy(model(x), y).item())  # conv
    hard = [i for i, l in enumerate(losses) if l > threshold]
    return hard, len([l for l in losses if l > threshold])


def hard_batches_expert(model, loader, threshold):
    losses = []
    with torch.no_grad():
        for x, y in loader:
            losses.append(F.cross_entropy(model(x), y))
    values = torch.stack(losses).tolist()
    hard = [i for i, l in enumerate(values) if l > threshold]
    return hard, len([l for l in values if l > threshold])


def power_iteration(W, iters, tol):
    A = W.detach().numpy()  # conv
    v = np.ones(A.shape[1]) / np.sqrt(A.shape[1])
    lam = 0.0
    k = 0
    while k < iters:
        w = A @ v
        new = np.linalg.norm(w)
        v = w / new
        if abs(new - lam) < tol:
            break
        lam = new
        k += 1
    return lam, v, k


# =============================================================================================
# The suite


@dataclass
class Case:
    """One loop: ``make(n)`` builds fresh arguments for a loop of about ``n`` iterations."""

    name: str
    fn: Callable[..., Any]
    make: Callable[[int], tuple[Any, ...]]
    expert: Callable[..., Any] | None = None
    pattern: str = ""
    tags: frozenset[str] = frozenset()
    """``item_accum`` (``total += loss.item()``) and ``append_numpy`` (``xs.append(p.cpu().numpy())``):
    at most 2 reads per call with ``LOOPLIFT_LIFT=always``; ``liftable``: a correct lift that reads
    less exists (the expert's)."""
    short: int = 5
    long: int = 21


def _model(seed: int = 0, **kw: Any) -> nn.Module:
    return D.seeded(seed, lambda: D.MLP(**kw))


def _binary(n: int) -> tuple[Any, ...]:
    x, y = D.classification(n, classes=2, seed=3)
    return _model(1, n_out=1), D.BatchLoader(x, y, 4)


def _dicts(n: int) -> tuple[Any, ...]:
    g = D.generator(5)
    return ([{"pixels": torch.rand(3, 4, 4, generator=g), "label": torch.tensor(i % 3)} for i in range(n)],)


def _images(n: int, classes: int = 3) -> tuple[Any, ...]:
    g = D.generator(6)
    images = [torch.randn(3, 5, 5, generator=g) for _ in range(n)]
    masks = [torch.randint(0, classes, (5, 5), generator=g) for _ in range(n)]
    return D.seeded(2, lambda: D.PixelNet(classes)), images, masks, classes


def _grad_model(n: int) -> tuple[Any, ...]:
    """A model whose ``unused`` head and ``extra`` layers get no gradient (``w.grad is None``),
    and whose ``frozen`` layer does not require one."""
    model = D.seeded(4, D.TwoHeads)
    model.extra = nn.ModuleList(D.seeded(5 + i, lambda: nn.Linear(2, 2)) for i in range(max(0, n - 5)))
    return model, torch.randn(5, 6, generator=D.generator(4))


def _trained_loader(n: int) -> tuple[Any, ...]:
    return _model(7), D.loader(n, seed=8), 0.1


def _tensor_pairs(n: int) -> tuple[Any, ...]:
    g = D.generator(9)
    return [(torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)) for _ in range(n)]


def _encoder() -> nn.Module:
    return D.seeded(10, lambda: nn.Sequential(nn.Linear(4, 6), nn.Tanh()))


def _reward_tensors(n: int) -> tuple[Any, ...]:
    g = D.generator(11)
    return (list(torch.rand(n, generator=g).unbind()),)


def _gan(n: int) -> tuple[Any, ...]:
    d_net = D.seeded(12, lambda: nn.Sequential(nn.Linear(4, 1), nn.Sigmoid()))
    g_net = D.seeded(13, lambda: nn.Linear(2, 4))
    g = D.generator(14)
    return d_net, g_net, [torch.randn(3, 4, generator=g) for _ in range(n)], 2


def _mixed_dtypes(n: int) -> tuple[Any, ...]:
    g = D.generator(15)
    out = []
    for i in range(n):
        dtype = torch.float64 if i == 3 else torch.float32
        out.append(torch.randn(4 if i < n - 1 else 2, 3, generator=g, dtype=dtype))
    return (out,)


def _mixed_kinds(n: int) -> tuple[Any, ...]:
    g = D.generator(16)
    out: list[Any] = []
    for i in range(n):
        t = torch.randn(2, 3, generator=g)
        out.append(t.numpy().copy() if i % 3 == 2 else t)
    return (out,)


def _nonfinite(n: int) -> tuple[Any, ...]:
    g = D.generator(17)
    outs = [torch.randn(2, 3, generator=g, requires_grad=True) for _ in range(n)]
    with torch.no_grad():
        outs[n - 2][0, 1] = float("nan")
    return (outs,)


def _finite(n: int) -> tuple[Any, ...]:
    g = D.generator(17)
    return ([torch.randn(2, 3, generator=g, requires_grad=True) for _ in range(n)],)


def _gae_numpy(n: int) -> tuple[Any, ...]:
    r = D.rng(18)
    g = D.generator(18)
    return (r.standard_normal(n).astype(np.float32), torch.randn(n + 1, generator=g, requires_grad=True),
            (r.random(n) < 0.2).astype(np.float32))


def _gae_tensors(n: int) -> tuple[Any, ...]:
    g = D.generator(19)
    return ([torch.randn(2, 1, generator=g) for _ in range(n)], [torch.randn(2, 1, generator=g) for _ in range(n + 1)],
            [torch.ones(2, 1) for _ in range(n)])


def _reinforce(n: int) -> tuple[Any, ...]:
    g = D.generator(20)
    log_probs = [torch.log(torch.rand(1, generator=g) * 0.9 + 0.05).requires_grad_() for _ in range(n)]
    return log_probs, [float(v) for v in torch.rand(n, generator=g)]


def _episodes(n: int) -> tuple[Any, ...]:
    g = D.generator(21)
    return ([torch.rand(3 + i % 4, generator=g) for i in range(n)],)


def _decoder(n: int) -> tuple[Any, ...]:
    return D.seeded(22, D.Decoder), torch.zeros(1, 8), n, 5


def _stack(n: int) -> nn.Module:
    """``n`` small linear layers: ``named_parameters()`` has ``2 * n`` items."""
    return nn.Sequential(*[D.seeded(i, lambda: nn.Linear(3, 3)) for i in range(n)])


def _bad_batch(n: int) -> tuple[Any, ...]:
    """A limit that the loss of batch ``n - 2`` exceeds (the loop returns there or before)."""
    model, data = _model(), D.loader(n)
    with torch.no_grad():
        losses = [F.cross_entropy(model(x), y).item() for x, y in data]
    return model, data, losses[n - 2] - 1e-6


def _power(n: int) -> tuple[Any, ...]:
    g = D.generator(23)
    a = torch.randn(6, 6, generator=g)
    return (a @ a.T).requires_grad_(), n, 1e-12


CASES: list[Case] = [
    Case("evaluate_loss_acc", evaluate_loss_acc, lambda n: (_model(), D.loader(n), nn.CrossEntropyLoss()),
         evaluate_loss_acc_expert, "loader object, model, total += loss.item() * bs, correct += eq.sum().item()",
         frozenset({"item_accum", "liftable"})),
    Case("predict_dataloader", predict_dataloader, lambda n: (_model(), D.torch_loader(n)),
         predict_dataloader_expert, "torch DataLoader(TensorDataset), preds.append(argmax.cpu().numpy()), concatenate",
         frozenset({"append_numpy", "liftable"})),
    Case("evaluate_probs", evaluate_probs, lambda n: (_model(), D.loader(n), F.cross_entropy),
         evaluate_probs_expert, "losses.append(item), probs.append(softmax.max.values.cpu().numpy()), np.mean",
         frozenset({"append_numpy", "liftable"})),
    Case("evaluate_dict_batches", evaluate_dict_batches, lambda n: (_model(), D.DictLoader(*D.classification(n), 4)),
         evaluate_dict_batches_expert, "loader of dict batches, accs.append(mean().item()), sum/len",
         frozenset({"liftable"})),
    Case("topk_accuracy", topk_accuracy, lambda n: (_model(), D.loader(n)), topk_accuracy_expert,
         "correct[k] += topk hits .item() (dict accumulator, inner loop)", frozenset({"liftable"})),
    Case("per_sample_losses", per_sample_losses, lambda n: (_model(), D.loader(n)), per_sample_losses_expert,
         "all_losses.extend(loss(reduction='none').tolist()), np.array", frozenset({"liftable"})),
    Case("first_bad_batch", first_bad_batch, _bad_batch, None,
         "early return on loss.item() > limit (host value needed)"),
    Case("collect_scores", collect_scores, lambda n: (_model(), D.loader(n), 4 * n - 6), collect_scores_expert,
         "scores.extend(p.cpu().numpy().tolist()) then break on len", frozenset({"liftable"})),
    Case("ensemble_predict", ensemble_predict,
         lambda n: ([_model(i) for i in range(n)], D.classification(1, seed=2)[0]), ensemble_predict_expert,
         "list comprehension over models, softmax().detach().numpy(), np.mean(axis=0)",
         frozenset({"liftable"})),
    Case("mc_dropout_predict", mc_dropout_predict,
         lambda n: (_model(dropout=0.3), D.classification(1, seed=2)[0], n), mc_dropout_predict_expert,
         "MC dropout (RNG in the model), samples.append(sigmoid.cpu().numpy()), np.stack, mean/std",
         frozenset({"append_numpy", "liftable"})),
    Case("pair_similarities", pair_similarities, lambda n: (_encoder(), _tensor_pairs(n)), pair_similarities_expert,
         "zip-unpacked pairs, sims.append(cosine_similarity.cpu().numpy()), concatenate",
         frozenset({"append_numpy", "liftable"})),
    Case("retrieval_scores", retrieval_scores,
         lambda n: (_encoder(), [t for t, _ in _tensor_pairs(n)], D.rng(3).standard_normal((5, 6)).astype(np.float32)),
         retrieval_scores_expert, "encoder(q).numpy() @ index.T, argsort, concatenate", frozenset({"liftable"})),
    Case("greedy_decode", greedy_decode, _decoder, None, "greedy decoding, int(argmax) compared to eos (host value)"),
    Case("precision_recall", precision_recall, _binary, precision_recall_expert,
         "(prob.numpy() > thr).astype, tp += int(((pred==1)&(t==1)).sum())", frozenset({"liftable"})),
    Case("mean_iou", mean_iou, _images, mean_iou_expert,
         "IoU per class with np.logical_and/or on .numpy() of argmax, if union > 0", frozenset({"liftable"})),
    Case("confusion_matrix", confusion_matrix, lambda n: (_model(), D.loader(n), 3), confusion_matrix_expert,
         "cm[t, p] += 1 over zip(y.numpy(), p) (store into an ndarray)", frozenset({"liftable"})),
    Case("class_accuracy", class_accuracy, lambda n: (_model(), D.loader(n), 3), class_accuracy_expert,
         "np.add.at per class on .numpy() of predictions and labels", frozenset({"liftable"})),
    Case("mae_per_batch", mae_per_batch,
         lambda n: ([t.requires_grad_() for t in D.tensors(n, (4, 3), seed=24)], D.tensors(n, (4, 3), seed=25)),
         mae_per_batch_expert, "zip(preds, targets), np.abs(p.detach().numpy() - t.numpy()).mean()",
         frozenset({"append_numpy", "liftable"})),
    Case("sample_brightness", sample_brightness, _dicts, sample_brightness_expert,
         "list of dicts: sample['pixels'].numpy().mean(), int(sample['label'])", frozenset({"liftable"})),
    Case("extract_features", extract_features, lambda n: (_model(), D.loader(n)), extract_features_expert,
         "feats.append(model.features(x).flatten(1).cpu().numpy()), concatenate",
         frozenset({"append_numpy", "liftable"})),
    Case("channel_stats", channel_stats, lambda n: (D.tensors(n, (3, 4, 4), seed=26),), channel_stats_expert,
         "dataset mean/std per channel, s += a.sum(axis=(1, 2)) on float64 ndarray accumulators",
         frozenset({"liftable"})),
    Case("loader_channel_means", loader_channel_means,
         lambda n: (torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.rand(3 * n - 1, 3, 4, 4, generator=D.generator(27))),
                                                batch_size=3),),
         loader_channel_means_expert, "DataLoader of 1-tuples, x.numpy().mean(axis=(0, 2, 3)), np.mean(axis=0)",
         frozenset({"append_numpy", "liftable"})),
    Case("token_histogram", token_histogram,
         lambda n: ([torch.randint(0, 9, (2, 3 + i % 3), generator=D.generator(28 + i)) for i in range(n)], 9),
         token_histogram_expert, "int64 token ids: counts += np.bincount, lengths.append(int((a != 0).sum()))",
         frozenset({"liftable"})),
    Case("mask_coverage", mask_coverage, lambda n: (D.tensors(n, (4, 4), torch.bool, seed=29),),
         mask_coverage_expert, "bool masks: m.numpy().mean(), nnz += int(m.sum())", frozenset({"liftable"})),
    Case("sequence_lengths", sequence_lengths, lambda n: (D.tensors(n, (6,), torch.bool, seed=30),),
         sequence_lengths_expert, "bool masks: lengths.append(mask.sum().item()), max()",
         frozenset({"liftable"})),
    Case("log_likelihood", log_likelihood,
         lambda n: ([t.abs() + 0.1 for t in D.tensors(n, (5,), torch.float64, seed=31)],), log_likelihood_expert,
         "float64 tensors: ll += float(torch.log(c).sum())", frozenset({"item_accum", "liftable"})),
    Case("layer_norms", layer_norms, lambda n: (D.tensors(n, (3, 4), seed=32),), layer_norms_expert,
         "list comprehension [np.linalg.norm(t.numpy()) for t in tensors]", frozenset({"liftable"})),
    Case("max_abs_weights", max_abs_weights, lambda n: (D.tensors(n, (3, 3), seed=33, requires_grad=True),),
         max_abs_weights_expert, "tensors requiring grad: np.abs(w.detach().numpy()).max()",
         frozenset({"liftable"})),
    Case("totals_mixed_dtypes", totals_mixed_dtypes, _mixed_dtypes, None,
         "items of another dtype mid-loop and a smaller last item: t.numpy().sum()"),
    Case("flatten_mixed", flatten_mixed, _mixed_kinds, None,
         "a list mixing tensors and ndarrays: parts.append(a.ravel()), total += float(a.sum())"),
    Case("scaled_abs_concat", scaled_abs_concat, lambda n: (D.tensors(n, (2, 3), seed=36),), scaled_abs_concat_expert,
         "outs.append(np.abs(t.cpu().numpy()) * 2.0), np.concatenate", frozenset({"append_numpy", "liftable"})),
    Case("scaled_abs_concat_mixed", scaled_abs_concat, _mixed_dtypes, None,
         "the same loop over items of another dtype mid-loop and a smaller last item (guards fail mid-loop)"),
    Case("norms_of_mixed", norms_of_mixed, _mixed_kinds, None,
         "np.linalg.norm(np.asarray(v)) over a list mixing tensors and ndarrays"),
    Case("check_finite", check_finite, _finite, check_finite_expert,
         "raise ValueError when np.isfinite(a).all() fails, else stats.append(a.mean())", frozenset({"liftable"})),
    Case("check_finite_raises", check_finite, _nonfinite, None,
         "the same loop raising ValueError at its second-to-last item"),
    Case("grad_norms", grad_norms, _grad_model, grad_norms_expert,
         "named_parameters(), skip None grads, np.linalg.norm(w.grad.cpu().numpy())", frozenset({"liftable"})),
    Case("weight_report", weight_report, lambda n: (_stack(n),), weight_report_expert,
         "named_parameters(): float(a.mean()), float(a.std()), float(np.abs(a).max())",
         frozenset({"liftable"})),
    Case("snapshot_state", snapshot_state, lambda n: (_stack(n),),
         snapshot_state_expert, "dict comprehension over state_dict(): v.detach().cpu().numpy().copy()",
         frozenset({"liftable"})),
    Case("sparsity_report", sparsity_report,
         lambda n: (_stack(n), 0.2),
         sparsity_report_expert, "named_modules() + isinstance filter, (np.abs(w) < thr).mean()",
         frozenset({"liftable"})),
    Case("train_history", train_history, _trained_loader, train_history_expert,
         "SGD training, hist['loss'].append(loss.item()) (dict of lists)", frozenset({"liftable"})),
    Case("train_epoch_logged", train_epoch_logged, _trained_loader, train_epoch_logged_expert,
         "enumerate(loader), running += loss.item(), print every 3 steps", frozenset({"liftable"})),
    Case("train_epochs", train_epochs, lambda n: (_model(d_in=8, n_out=3), D.regression(n), 2, 0.05),
         train_epochs_expert, "nested epochs x batches, total += loss.item(), total / len(data)",
         frozenset({"item_accum", "liftable"})),
    Case("fit_until", fit_until,
         lambda n: (_model(n_out=3), *D.regression(1, batch_size=6, seed=34)[0], 0.05, 1e-9, n), fit_until_expert,
         "while loop: losses.append(loss.item()), break when loss.item() < tol"),
    Case("discriminator_scores", discriminator_scores, _gan, discriminator_scores_expert,
         "GAN scores with torch.randn in the loop, d_real += D(x).mean().item()",
         frozenset({"item_accum", "liftable"})),
    Case("discounted_returns", discounted_returns, _reward_tensors, discounted_returns_expert,
         "for r in reversed(rewards): R = r.item() + gamma * R; insert(0, R)", frozenset({"liftable"})),
    Case("reinforce_loss", reinforce_loss, _reinforce, None,
         "REINFORCE: returns from Python floats, torch.tensor(returns), -log_prob * R (no conversion)"),
    Case("gae_numpy", gae_numpy, _gae_numpy, None,
         "GAE on values.detach().cpu().numpy() with NumPy scalars (conversion before the loop)"),
    Case("gae_tensors", gae_tensors, _gae_tensors, None, "GAE on lists of tensors, returns.insert(0, gae + v)"),
    Case("normalize_rewards", normalize_rewards, _reward_tensors, normalize_rewards_expert,
         "np.array([r.item() for r in rewards]), standardize", frozenset({"liftable"})),
    Case("episode_stats", episode_stats, _episodes, episode_stats_expert,
         "episodes of different lengths: ep_returns.append(float(ep.sum())), np.mean/np.max",
         frozenset({"liftable"})),
    Case("ema_loss", ema_loss, lambda n: (list(D.tensors(1, (n,), seed=35)[0].unbind()),), ema_loss_expert,
         "EMA of loss.item() (read flows into arithmetic, then a list)", frozenset({"liftable"})),
    Case("reward_curve", reward_curve, _reward_tensors, reward_curve_expert,
         "running += r.item(); curve.append(running) (a running sum kept at each step)",
         frozenset({"item_accum", "liftable"})),
    Case("evaluate_with_history", evaluate_with_history, lambda n: (_model(), D.loader(n)),
         evaluate_with_history_expert, "history = {'loss': losses, ...} made before the loop, losses.append(item)",
         frozenset({"liftable"})),
    Case("best_epoch", best_epoch, lambda n: (_model(n_out=3), D.regression(n), 3, 0.05), None,
         "epochs of SGD, total += loss.item(), best, best_at = total, epoch when it improves"),
    Case("while_next_iter", while_next_iter, lambda n: (_model(), D.torch_loader(4), n), while_next_iter_expert,
         "while loop over next(iter(loader)) restarted at StopIteration, losses.append(item), np.mean",
         frozenset({"append_numpy", "liftable"})),
    Case("dataloader_dict_stats", dataloader_dict_stats,
         lambda n: (torch.utils.data.DataLoader(D.DictDataset(3 * n - 1), batch_size=3),), dataloader_dict_stats_expert,
         "DataLoader over a Dataset of dicts: batch['pixels'].mean(dim=...).numpy(), batch['label'].numpy()",
         frozenset({"append_numpy", "liftable"})),
    Case("hard_batches", hard_batches, lambda n: (_model(), D.loader(n), 1.0), hard_batches_expert,
         "losses.append(item), then comprehensions over enumerate(losses) / losses after the loop",
         frozenset({"append_numpy", "liftable"})),
    Case("power_iteration", power_iteration, _power, None,
         "while loop: power iteration on W.detach().numpy() (conversion before the loop), break on tolerance"),
]

BY_NAME = {c.name: c for c in CASES}
