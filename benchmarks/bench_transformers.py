"""A Hugging Face BERT fine-tuned by sktune against a hand-written loop.

Part "loop" (issue "Hugging Face models and text", target <= 1.05x): a small
``BertForSequenceClassification`` (``BertConfig`` hidden 128, 2 layers, 2
heads, intermediate 256, vocabulary 1,000; random weights: nothing is
downloaded) fine-tuned on generated token data (1,024 sequences of 32 token
ids with their attention masks; the label is whether token 7 occurs) for a
few epochs at batch size 32, AdamW (torch's fused kernel in both), lr 1e-4,
a linear schedule with 10 % warmup stepped per optimiser step, one torch
thread, both from the same pretrained instance:

- sktune: ``NeuralNetClassifier(module=model, optimizer="adamw",
  penalty=None, lr_schedule="linear", lr_schedule__warmup=0.1)``, fitted on
  the tokenizer-style dict ``{"input_ids", "attention_mask"}``;
- the loop: a copy of the model, ``torch.optim.AdamW(fused=True)``,
  transformers' ``get_linear_schedule_with_warmup``, a fresh
  ``torch.randperm`` each epoch cut into the same even batches, the same
  seed as sktune's fit (``random_state=0`` -> the torch seed it draws),
  ``zero_grad`` / ``model(**batch).logits`` / ``CrossEntropyLoss`` /
  ``backward`` / ``step`` / ``scheduler.step`` and ``loss.item()`` per batch.

The two run interleaved (``--repeats`` rounds, order rotating); printed: the
median seconds per epoch of each (first epoch of every fit left out), their
ratio, and the largest absolute difference between the two fits' final
weights (0 when the loops match step for step).

Part "trainer" (target: sktune's held-out accuracy >= Trainer's on the median
seed): a generated text task whose label depends on word order (16 tokens:
``[CLS]``, fillers, one word of group A and one of group B at random places;
label: A comes before B; a bag of words cannot tell). A small BERT (hidden
64, 2 layers) is first pretrained by this script on the same question for two
other word groups (C before D: it learns to compare positions, not the A and B
words), then both tools tune its fine-tuning on 600
training sentences over the same space: ``lr`` (1e-4 to 3e-3, log),
warmup (0 to 0.3 of the steps; Trainer's ``warmup_steps`` float, the same rule), AdamW's weight decay (1e-4 to 0.1, log) and
the LoRA rank (0 = full fine-tuning, 4, 16), 6 epochs, batch 32, linear
schedule:

- sktune: ``BayesSearchCV`` (``n_iter``, 3-fold CV, ``n_jobs=2``) over
  ``NeuralNetClassifier(module=pretrained, optimizer="adamw", ...)``, refitted
  on the 600 sentences;
- transformers: ``Trainer.hyperparameter_search`` (optuna's TPE, seeded),
  one 80/20 split of the 600 for evaluation, LoRA through peft
  (``LoraConfig(r, lora_alpha=r, target_modules=[query, key, value, dense])``,
  the linear layers sktune's default adapts), given sktune's search wall as
  its ``timeout`` (equal wall time), its best trial retrained on the 600.

Both choices are scored on 1,000 held-out sentences, for seeds 0-4 (data,
search and networks seeded). Printed per seed: the accuracies, the trials
each ran, the chosen rank; then the medians and the spread (max - min)
across seeds. Needs ``pip install 'sktune[bench]'`` (optuna, peft,
accelerate).

Usage::

    python benchmarks/bench_transformers.py [--part loop|trainer|all] [--repeats 3]
        [--epochs 3] [--seeds 0 1 2 3 4] [--n-iter 12] [--quick]
"""

import argparse
import copy
import os
import statistics
import time

import numpy as np
import torch

VOCAB, LENGTH = 1000, 32


def token_data(n, seed=0):
    rng = np.random.RandomState(seed)
    lengths = rng.randint(8, LENGTH + 1, size=n)
    mask = (np.arange(LENGTH)[None, :] < lengths[:, None]).astype(np.int64)
    ids = rng.randint(1, VOCAB, size=(n, LENGTH)) * mask
    y = (ids == 7).any(axis=1).astype(np.int64)
    return {"input_ids": ids, "attention_mask": mask}, y


def make_model(quick):
    import transformers

    config = transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=32 if quick else 128, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64 if quick else 256,
        max_position_embeddings=LENGTH, num_labels=2)
    torch.manual_seed(0)
    return transformers.BertForSequenceClassification(config)


def run_sktune(model, X, y, args):
    from sktune import NeuralNetClassifier

    times = []

    from skorch.callbacks import Callback

    class Clock(Callback):
        def on_epoch_begin(self, net, **kwargs):
            self.t = time.perf_counter()

        def on_epoch_end(self, net, **kwargs):
            times.append(time.perf_counter() - self.t)

    net = NeuralNetClassifier(module=model, optimizer="adamw", penalty=None, lr=args.lr,
                              batch_size=32, epochs=args.epochs, lr_schedule="linear",
                              lr_schedule__warmup=0.1, random_state=0, torch_threads=1,
                              callbacks=[Clock()])
    net.fit(X, y)
    return times[1:], dict(net.net_.module_.named_parameters())


def run_loop(model, X, y, args):
    import transformers
    from sklearn.utils import check_random_state

    from sktune.nets._data import batch_bounds

    torch.set_num_threads(1)
    seed = int(check_random_state(0).randint(2**31 - 1, size=2)[0])  # sktune's torch seed
    model = copy.deepcopy(model)
    ids, mask = (torch.as_tensor(X[k]) for k in ("input_ids", "attention_mask"))
    target = torch.as_tensor(y)
    n = len(target)
    steps = args.epochs * len(batch_bounds(n, 32))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0, fused=True)
    scheduler = transformers.get_linear_schedule_with_warmup(
        optimizer, num_warmup_steps=int(np.ceil(0.1 * steps)), num_training_steps=steps)
    criterion = torch.nn.CrossEntropyLoss()
    times = []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model.train()
        for _ in range(args.epochs):
            t = time.perf_counter()
            order = torch.randperm(n)
            for start, stop in batch_bounds(n, 32):
                idx = order[start:stop]
                optimizer.zero_grad()
                logits = model(input_ids=ids[idx], attention_mask=mask[idx]).logits
                loss = criterion(logits, target[idx])
                loss.backward()
                optimizer.step()
                scheduler.step()
                loss.item()
            times.append(time.perf_counter() - t)
    return times[1:], dict(model.named_parameters())


# -- part "trainer": BayesSearchCV against Trainer.hyperparameter_search -----------------
CLS, A_WORDS, B_WORDS, FILLERS = 1, range(2, 6), range(6, 10), range(10, 60)
C_WORDS, D_WORDS, N_TOKENS = range(60, 64), range(64, 68), 68
SEQ = 16


def order_data(n, seed, pretraining=False):
    """Sentences of ``SEQ`` ids: [CLS], fillers, an A word and a B word; the label
    says whether A comes first. Pretraining asks the same of two other word groups
    (C before D), so the pretrained network knows how to compare positions but not
    the A and B words, and its own predictions on A/B sentences are chance."""
    rng = np.random.RandomState(seed)
    ids = rng.choice(list(FILLERS), size=(n, SEQ))
    ids[:, 0] = CLS
    y = np.zeros(n, dtype=np.int64)
    first, second = (C_WORDS, D_WORDS) if pretraining else (A_WORDS, B_WORDS)
    for i in range(n):
        a, b = rng.choice(np.arange(1, SEQ), size=2, replace=False)
        ids[i, a], ids[i, b] = rng.choice(list(first)), rng.choice(list(second))
        y[i] = a < b
    return {"input_ids": ids.astype(np.int64), "attention_mask": np.ones_like(ids)}, y


def pretrained_bert(epochs=4):
    """A small BERT pretrained (by sktune) on the related task; returned as a plain
    transformers model, the instance both tools fine-tune."""
    import transformers

    from sktune import NeuralNetClassifier

    config = transformers.BertConfig(vocab_size=N_TOKENS, hidden_size=64, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=128,
                                     max_position_embeddings=SEQ, num_labels=2)
    torch.manual_seed(0)
    X, y = order_data(3000, seed=1000, pretraining=True)
    net = NeuralNetClassifier(module=transformers.BertForSequenceClassification,
                              module__config=config, optimizer="adamw", penalty=None, lr=1e-3,
                              batch_size=32, epochs=epochs, lr_schedule="linear",
                              lr_schedule__warmup=0.1, random_state=0, torch_threads=2)
    net.fit(X, y)
    Xt, yt = order_data(1000, seed=1001, pretraining=True)
    Xa, ya = order_data(1000, seed=1002)
    print(f"  pretrained on 'C before D' (3,000 sentences, {epochs} epochs): held-out accuracy "
          f"{net.score(Xt, yt):.3f}; on 'A before B' as it is: {net.score(Xa, ya):.3f}")
    model = net.net_.module_
    return model.eval()


def tune_sktune(pretrained, X, y, seed, args):
    from sktune import BayesSearchCV, NeuralNetClassifier
    from sktune.space import Categorical, Real

    net = NeuralNetClassifier(module=pretrained, optimizer="adamw", penalty=None, batch_size=32,
                              epochs=args.ft_epochs, lr_schedule="linear", random_state=seed)
    space = {"lr": Real(1e-4, 3e-3, prior="log-uniform"),
             "lr_schedule__warmup": Real(0.0, 0.3),
             "optimizer__weight_decay": Real(1e-4, 1e-1, prior="log-uniform"),
             "lora_rank": Categorical([0, 4, 16])}
    search = BayesSearchCV(net, space, n_iter=args.n_iter, cv=3, n_jobs=2, random_state=seed)
    start = time.perf_counter()
    search.fit(X, y)
    wall = time.perf_counter() - start - search.refit_time_
    return search, wall


class _Fixed:
    """model_init's trial for the final training: the chosen rank."""

    def __init__(self, rank):
        self.params = {"lora_rank": rank}


class _Sentences(torch.utils.data.Dataset):
    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"input_ids": torch.as_tensor(self.X["input_ids"][i]),
                "attention_mask": torch.as_tensor(self.X["attention_mask"][i]),
                "labels": torch.as_tensor(self.y[i])}


def tune_trainer(pretrained, X, y, seed, timeout, args, folder):
    import optuna
    import peft
    import transformers

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    transformers.logging.set_verbosity_error()
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(y))
    cut = int(0.8 * len(y))
    pick = lambda idx: ({k: v[idx] for k, v in X.items()}, y[idx])  # noqa: E731
    train, valid = _Sentences(*pick(order[:cut])), _Sentences(*pick(order[cut:]))

    def model_init(trial):
        model = copy.deepcopy(pretrained).train()
        # Trainer (transformers 5.25) builds the model before it calls hp_space, so
        # trial.params is still empty here: suggest the rank here (optuna gives the
        # same value when hp_space suggests it again). Reading trial.params, as one
        # would, silently trains every trial without adapters.
        rank = 0 if trial is None else (
            trial.params["lora_rank"] if isinstance(trial, _Fixed)
            else trial.suggest_categorical("lora_rank", [0, 4, 16]))
        if rank:
            config = peft.LoraConfig(task_type="SEQ_CLS", r=rank, lora_alpha=rank,
                                     lora_dropout=0.0,
                                     target_modules=["query", "key", "value", "dense"])
            model = peft.get_peft_model(model, config)
        return model

    trials = set()

    def hp_space(trial):
        trials.add(trial.number)
        return {"learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
                # a float in [0, 1) is a fraction of all steps (transformers >= 5)
                "warmup_steps": trial.suggest_float("warmup_steps", 0.0, 0.3),
                "weight_decay": trial.suggest_float("weight_decay", 1e-4, 1e-1, log=True),
                "lora_rank": trial.suggest_categorical("lora_rank", [0, 4, 16])}

    def accuracy(prediction):
        return {"accuracy": float((prediction.predictions.argmax(-1)
                                   == prediction.label_ids).mean())}

    def arguments(**kw):
        return transformers.TrainingArguments(
            output_dir=folder, num_train_epochs=args.ft_epochs, per_device_train_batch_size=32,
            per_device_eval_batch_size=256, lr_scheduler_type="linear", save_strategy="no",
            eval_strategy="no", report_to=[], use_cpu=True, seed=seed, data_seed=seed,
            disable_tqdm=True, logging_strategy="no", **kw)

    trainer = transformers.Trainer(model_init=model_init, args=arguments(), train_dataset=train,
                                   eval_dataset=valid, compute_metrics=accuracy)
    trainer.remove_callback(transformers.PrinterCallback)  # no log line per trial
    start = time.perf_counter()
    best = trainer.hyperparameter_search(
        hp_space=hp_space, backend="optuna", direction="maximize", n_trials=1000,
        timeout=timeout, compute_objective=lambda m: m["eval_accuracy"],
        sampler=optuna.samplers.TPESampler(seed=seed))
    wall = time.perf_counter() - start
    params = dict(best.hyperparameters)
    rank = params.pop("lora_rank", 0)

    model = model_init(_Fixed(rank))
    final = transformers.Trainer(model=model, args=arguments(**params),
                                 train_dataset=_Sentences(X, y), compute_metrics=accuracy)
    final.remove_callback(transformers.PrinterCallback)
    final.train()
    return final, best, rank, wall, len(trials)


def part_trainer(args):
    import tempfile

    print("trainer: BayesSearchCV (3-fold CV) vs Trainer.hyperparameter_search (optuna, one "
          "eval split) at equal wall time; 600 training and 1,000 held-out sentences per seed")
    pretrained = pretrained_bert()
    rows = []
    for seed in args.seeds:
        X, y = order_data(600, seed=seed)
        Xt, yt = order_data(1000, seed=seed + 500)
        search, wall = tune_sktune(pretrained, X, y, seed, args)
        ours = search.score(Xt, yt)
        with tempfile.TemporaryDirectory() as folder:
            final, best, rank, t_wall, n_trials = tune_trainer(pretrained, X, y, seed, wall,
                                                               args, folder)
            logits = final.predict(_Sentences(Xt, yt)).predictions
        theirs = float((logits.argmax(-1) == yt).mean())
        rows.append((seed, ours, theirs, wall, t_wall))
        print(f"  seed {seed}: sktune {ours:.3f} (rank {search.best_params_['lora_rank']}, "
              f"{len(search.cv_results_['params'])} candidates x 3 folds, {wall:.0f} s); "
              f"Trainer {theirs:.3f} (rank {rank}, {n_trials} trials, best {best.run_id}, "
              f"{t_wall:.0f} s)")
    ours = [r[1] for r in rows]
    theirs = [r[2] for r in rows]
    print(f"  median held-out accuracy: sktune {statistics.median(ours):.3f}, Trainer "
          f"{statistics.median(theirs):.3f} (target sktune >= Trainer: "
          f"{'yes' if statistics.median(ours) >= statistics.median(theirs) else 'NO'})")
    print(f"  spread across seeds (max - min): sktune {max(ours) - min(ours):.3f}, Trainer "
          f"{max(theirs) - min(theirs):.3f}")


def part_loop(args):
    X, y = token_data(args.rows)
    model = make_model(args.quick)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"loop: BertForSequenceClassification of {n_params / 1e6:.2f}M parameters, "
          f"{args.rows} rows x {LENGTH} tokens, batch 32, {args.epochs} epochs, "
          f"{args.repeats} rounds interleaved, 1 torch thread")
    epochs = {"sktune": [], "loop": []}
    weights = {}
    runners = [("sktune", run_sktune), ("loop", run_loop)]
    for r in range(args.repeats):
        for name, run in (runners if r % 2 == 0 else runners[::-1]):
            times, weights[name] = run(model, X, y, args)
            epochs[name] += times
    s, loop = statistics.median(epochs["sktune"]), statistics.median(epochs["loop"])
    diff = max(float((weights["sktune"][k] - weights["loop"][k]).detach().abs().max())
               for k in weights["loop"])
    print(f"  seconds per epoch: sktune {s:.3f}, hand-written loop {loop:.3f}: "
          f"{s / loop:.3f}x (target <= 1.05: {'yes' if s / loop <= 1.05 else 'NO'})")
    print(f"  final weights, max |sktune - loop|: {diff:.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["loop", "trainer", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--n-iter", type=int, default=12)
    parser.add_argument("--ft-epochs", type=int, default=6)
    parser.add_argument("--quick", action="store_true",
                        help="a tiny BERT, 128 rows, 1 round; one seed, 3 candidates")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeats, args.seeds, args.n_iter, args.ft_epochs = 128, 1, [0], 3, 2
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"(torch {torch.__version__}, 2 cores)")
    start = time.perf_counter()
    if args.part in ("loop", "all"):
        part_loop(args)
    if args.part in ("trainer", "all"):
        part_trainer(args)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
