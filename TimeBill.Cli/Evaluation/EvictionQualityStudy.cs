using TimeBill.Core.Sampling;
using TimeBill.Predictors.Evaluation;
using TimeBill.Core.Cache;
using TimeBill.Core.Eviction;
using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Cli.Evaluation;

/// <summary>Settings of an <see cref="EvictionQualityStudy"/>.</summary>
internal sealed record EvictionStudyOptions
{
    public int Prompts { get; init; } = 24;
    public int Seed { get; init; } = 0;
    public IReadOnlyList<string> Policies { get; init; } = EvictionPolicies.Names;
    public IReadOnlyList<double> Alphas { get; init; } = [0.25, 0.5, 0.75, 0.9];
    public int MinPromptLength { get; init; } = 150;
    public int MaxPromptLength { get; init; } = 400;
    /// <summary>Teacher-forced steps whose next-token distributions are compared (KL).</summary>
    public int KlSteps { get; init; } = 32;
    /// <summary>Greedy steps compared token by token.</summary>
    public int AgreementSteps { get; init; } = 64;
    /// <summary>Greedy continuation compared with ROUGE-L.</summary>
    public int ContinuationLength { get; init; } = 128;
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 0.9;
    /// <summary>Prompts measured at once, each on its own thread.</summary>
    public int Workers { get; init; } = 1;
}

/// <summary>One prompt's measurement for one policy and α.</summary>
internal sealed record EvictionSample(int Prompt, int PromptLength, string Policy, double Alpha, int KeptEntries, int TotalEntries, double MeanKl, double Agreement, double RougeL);

/// <summary>Means over prompts for one policy and α.</summary>
internal sealed record EvictionSummary(string Policy, double Alpha, double KeptFraction, double MeanKl, double GreedyAgreement, double RougeLF1, int Prompts);

/// <summary>The study's outcome.</summary>
internal sealed record EvictionStudyReport(IReadOnlyList<int> PromptLengths, IReadOnlyList<EvictionSample> Samples, IReadOnlyList<EvictionSummary> Summary);

/// <summary>
/// How much each eviction policy changes what the model says, against the full cache, on prompts built from the
/// model's own sampled stories. Per prompt the full cache gives a 128-token greedy continuation G; then for every
/// policy and α a fresh prefill is evicted and measured by (a) the mean KL(full ‖ evicted) of the next-token
/// distributions over the first decode steps after eviction, teacher-forced on G (the first token comes from the
/// prefill, before eviction, so it is never affected), (b) the share of the first greedy tokens equal to G's, and
/// (c) ROUGE-L F1 (token LCS) of the whole greedy continuation against G.
/// </summary>
internal sealed class EvictionQualityStudy(CausalLanguageModel model, EvictionStudyOptions options)
{
    /// <summary>Runs the study; <paramref name="progress"/> hears (work done, work total, what).</summary>
    public EvictionStudyReport Run(Action<int, int, string>? progress = null, CancellationToken cancellationToken = default)
    {
        Validate();
        var policies = options.Policies.Select(name => EvictionPolicies.Create(name, options.Seed)).ToArray();
        var perPrompt = new EvictionSample[options.Prompts][];
        var lengths = new int[options.Prompts];
        int total = options.Prompts * (1 + policies.Length * options.Alphas.Count), done = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Workers), CancellationToken = cancellationToken };
        // Prompts are independent (own seed, own caches), so workers only change the speed, never the numbers.
        Parallel.For(0, options.Prompts, parallel, prompt =>
        {
            int[] ids = SamplePrompt(prompt);
            lengths[prompt] = ids.Length;
            using var reference = Reference(ids);
            progress?.Invoke(Interlocked.Increment(ref done), total, $"prompt {prompt + 1}/{options.Prompts} ({ids.Length} tokens)");
            var rows = new List<EvictionSample>();
            foreach (var policy in policies)
                foreach (double alpha in options.Alphas)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    rows.Add(Measure(prompt, ids, reference, policy, alpha));
                    progress?.Invoke(Interlocked.Increment(ref done), total, $"prompt {prompt + 1}/{options.Prompts}: {policy.Name} α={alpha}");
                }
            perPrompt[prompt] = rows.ToArray();
        });
        var samples = perPrompt.SelectMany(rows => rows).ToList();
        var summary = samples
            .GroupBy(s => (s.Policy, s.Alpha))
            .Select(g => new EvictionSummary(g.Key.Policy, g.Key.Alpha,
                g.Sum(s => (double)s.KeptEntries) / g.Sum(s => (double)s.TotalEntries),
                g.Average(s => s.MeanKl), g.Average(s => s.Agreement), g.Average(s => s.RougeL), g.Count()))
            .ToList();
        return new EvictionStudyReport(lengths, samples, summary);
    }

    /// <summary>The longest prompt: the asked maximum, shortened so prompt + continuation fit the context (384 on a 512 context).</summary>
    private int MaxPromptLength => Math.Min(options.MaxPromptLength, model.Config.MaxPositions - options.ContinuationLength);

    private void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Prompts, "prompts");
        if (options.MinPromptLength < 2 || options.MaxPromptLength < options.MinPromptLength)
            throw new ArgumentException($"prompt lengths must satisfy 2 ≤ min ≤ max; got {options.MinPromptLength}..{options.MaxPromptLength}.", nameof(options));
        if (options.MinPromptLength > MaxPromptLength)
            throw new ArgumentException($"prompts of at least {options.MinPromptLength} tokens plus a {options.ContinuationLength}-token continuation exceed the model's context of {model.Config.MaxPositions}.", nameof(options));
        if (options.AgreementSteps > options.ContinuationLength || options.KlSteps + 1 > options.ContinuationLength)
            throw new ArgumentException("the KL and agreement steps must fit in the continuation.", nameof(options));
        foreach (double alpha in options.Alphas) EvictionPolicy.ValidateAlpha(alpha);
    }

    /// <summary>
    /// A prefix of the model's own story stream: sampled from BOS at the study's temperature and top-p with a seed per
    /// prompt; when a story ends, BOS starts the next one. The length is drawn uniformly from the allowed range.
    /// </summary>
    private int[] SamplePrompt(int index)
    {
        var random = new Random(unchecked(options.Seed * 7919 + index));
        int length = random.Next(options.MinPromptLength, MaxPromptLength + 1);
        int bos = model.GenerationConfig.BosTokenId ?? 1;
        var stops = model.GenerationConfig.StopTokenIds.ToHashSet();
        var ids = new List<int>(length) { bos };
        using var cache = model.CreateCache(length);
        float[] logits = model.ForwardLast([bos], cache);
        while (ids.Count < length)
        {
            int next = SampleTopP(logits, random);
            if (stops.Contains(next)) next = bos;
            ids.Add(next);
            if (ids.Count < length) logits = model.ForwardLast([next], cache);
        }
        return ids.ToArray();
    }

    private int SampleTopP(float[] logits, Random random)
    {
        double max = logits.Max();
        var probabilities = logits.Select(l => Math.Exp((l - max) / options.Temperature)).ToArray();
        double sum = probabilities.Sum();
        int[] order = Enumerable.Range(0, logits.Length).OrderByDescending(i => probabilities[i]).ToArray();
        double cumulative = 0;
        int nucleus = 0;
        while (nucleus < order.Length && cumulative < options.TopP * sum) cumulative += probabilities[order[nucleus++]];
        double draw = random.NextDouble() * cumulative;
        for (int i = 0; i < nucleus; i++)
        {
            draw -= probabilities[order[i]];
            if (draw <= 0) return order[i];
        }
        return order[nucleus - 1];
    }

    private sealed record FullCacheReference(int[] Greedy, Tensor LogProbabilities) : IDisposable
    {
        public void Dispose() => LogProbabilities.Dispose();
    }

    private FullCacheReference Reference(int[] prompt)
    {
        using var cache = model.CreateCache(prompt.Length + options.ContinuationLength);
        float[] first = model.ForwardLast(prompt, cache);
        int[] greedy = Greedy(first, cache, options.ContinuationLength);
        using var forced = model.CreateCache(prompt.Length + options.ContinuationLength);
        model.Forward(prompt, forced).Dispose();
        using var scope = NewDisposeScope();
        var logits = model.Forward(greedy.AsSpan(0, greedy.Length - 1), forced, allLogits: true);
        var logProbabilities = logits.narrow(0, 0, options.KlSteps).log_softmax(-1);
        return new FullCacheReference(greedy, logProbabilities.DetachFromDisposeScope());
    }

    /// <summary>Greedy tokens from <paramref name="logits"/> on, one decode step each.</summary>
    private int[] Greedy(float[] logits, KvCache cache, int count)
    {
        var tokens = new int[count];
        for (int step = 0; step < count; step++)
        {
            tokens[step] = TokenSampler.ArgMax(logits);
            if (step + 1 < count) logits = model.ForwardLast([tokens[step]], cache);
        }
        return tokens;
    }

    /// <summary>
    /// One evicted prefill measured three ways. The full-cache continuation G is fed in one teacher-forced pass: its
    /// first rows give the KL, and its argmaxes show how far the evicted model's greedy continuation follows G (it
    /// equals G up to the first disagreement, so only the rest needs step-by-step decoding on a second evicted cache).
    /// </summary>
    private EvictionSample Measure(int index, int[] prompt, FullCacheReference reference, EvictionPolicy policy, double alpha)
    {
        int length = options.ContinuationLength, kept, total = model.Config.LayerCount * prompt.Length;
        int[] g = reference.Greedy;
        double kl;
        int divergence = -1; // first i whose prediction after G[0..i] differs from G[i+1]
        int divergentToken = -1;
        using (var cache = model.CreateCache(prompt.Length + length))
        {
            Prefill(policy, alpha, prompt, cache);
            kept = Enumerable.Range(0, cache.LayerCount).Sum(cache.Length);
            using var scope = NewDisposeScope();
            var logits = model.Forward(g.AsSpan(0, length - 1), cache, allLogits: true);
            var logQ = logits.narrow(0, 0, options.KlSteps).log_softmax(-1);
            var logP = reference.LogProbabilities;
            kl = (logP.exp() * (logP - logQ)).sum(-1).mean().item<float>();
            long[] predicted = logits.argmax(-1).data<long>().ToArray();
            for (int i = 0; i < predicted.Length; i++)
                if (predicted[i] != g[i + 1]) { divergence = i; divergentToken = (int)predicted[i]; break; }
        }
        int[] continuation = g;
        if (divergence >= 0)
        {
            continuation = new int[length];
            Array.Copy(g, continuation, divergence + 1);
            continuation[divergence + 1] = divergentToken;
            if (divergence + 2 < length)
            {
                using var cache = model.CreateCache(prompt.Length + length);
                Prefill(policy, alpha, prompt, cache);
                model.Forward(g.AsSpan(0, divergence + 1), cache).Dispose();
                float[] logits = model.ForwardLast([divergentToken], cache);
                Greedy(logits, cache, length - divergence - 2).CopyTo(continuation, divergence + 2);
            }
        }
        int agree = Enumerable.Range(0, options.AgreementSteps).Count(i => continuation[i] == g[i]);
        return new EvictionSample(index, prompt.Length, policy.Name, alpha, kept, total, Math.Max(0, kl),
            (double)agree / options.AgreementSteps, SequenceMetrics.RougeLF1(continuation, g));
    }

    private float[] Prefill(EvictionPolicy policy, double alpha, int[] prompt, KvCache cache)
    {
        using var capture = policy.CreateCapture(model.Config);
        float[] last = model.ForwardLast(prompt, cache, capture);
        policy.Evict(cache, alpha, capture);
        return last;
    }
}
