using System.Diagnostics;
using TimeBill.Core.Exit;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;

namespace TimeBill.Predictors.Exit;

/// <summary>Settings of an exit comparison.</summary>
public sealed record ExitEvaluationOptions
{
    /// <summary>Decoded tokens per prompt (stop tokens do not end a run, so every run is equally long).</summary>
    public int Steps { get; init; } = 128;
    /// <summary>Thresholds τ swept for classic and predictive exit.</summary>
    public IReadOnlyList<double> Thresholds { get; init; } = [0.3, 0.5, 0.7, 0.8, 0.9, 0.95];
    /// <summary>Also compare sampled decoding (temperature 1, top-p 0.9, the same seed for every method of a prompt).</summary>
    public bool Sampled { get; init; } = true;
    /// <summary>Base seed of the samplers.</summary>
    public int Seed { get; init; }
    /// <summary>Fallback of predictive exit.</summary>
    public ExitFallback Fallback { get; init; } = ExitFallback.FullDepth;
}

/// <summary>One method at one threshold, aggregated over the prompts of one decoding mode.</summary>
/// <param name="Decoding">"greedy" or "sampled".</param>
/// <param name="Method">"full", "classic" or "predictive".</param>
/// <param name="Threshold">τ (+∞ for full depth).</param>
/// <param name="LayersPerToken">Average decoder layers run per decoded token.</param>
/// <param name="HeadsPerToken">Average exit heads evaluated per decoded token.</param>
/// <param name="TokensPerSecond">Decoded tokens per second of decode time (prefill excluded), all prompts together.</param>
/// <param name="Speedup">Tokens per second relative to full depth in the same interleaved run.</param>
/// <param name="TokenAgreement">Mean share of positions equal to the full model's tokens.</param>
/// <param name="RougeL">Mean ROUGE-L F1 (token LCS) against the full model's tokens.</param>
/// <param name="Perplexity">The full model's perplexity of the generated tokens.</param>
/// <param name="Tokens">Generated tokens scored (the first of each run comes from the prefill).</param>
public sealed record ExitEvaluationRow(
    string Decoding, string Method, double Threshold, double LayersPerToken, double HeadsPerToken, double TokensPerSecond,
    double Speedup, double TokenAgreement, double RougeL, double Perplexity, int Tokens);

/// <summary>
/// Compares full-depth decoding, classic early exit and predictive exit on the same prompts. All methods of a prompt
/// run back to back in a rotating order, so machine load (other processes) hits them alike; timings are still only
/// as steady as the machine.
/// </summary>
public static class ExitEvaluation
{
    /// <summary>Runs the comparison; <paramref name="progress"/> gets (done, total) runs.</summary>
    /// <exception cref="ArgumentException">No prompts, or a non-positive step count.</exception>
    public static IReadOnlyList<ExitEvaluationRow> Run(CausalLanguageModel model, IExitModel exits, IReadOnlyList<int[]> prompts,
        ExitEvaluationOptions? options = null, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(exits);
        ArgumentNullException.ThrowIfNull(prompts);
        options ??= new ExitEvaluationOptions();
        if (prompts.Count == 0) throw new ArgumentException("no prompts to evaluate.", nameof(prompts));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Steps);

        var methods = new List<(string Method, double Threshold, ExitPolicy Policy)> { ("full", double.PositiveInfinity, ExitPolicy.Off) };
        foreach (double tau in options.Thresholds)
        {
            methods.Add(("classic", tau, ExitPolicy.AtThreshold(tau, ExitStrategy.Classic)));
            methods.Add(("predictive", tau, new ExitPolicy { Threshold = tau, Strategy = ExitStrategy.Predictive, Fallback = options.Fallback }));
        }
        var modes = options.Sampled ? new[] { "greedy", "sampled" } : ["greedy"];
        int capacity = prompts.Max(p => p.Length) + options.Steps + 1;
        if (capacity > model.Config.MaxPositions) throw new ArgumentException($"prompt + {options.Steps} steps exceed the model's context of {model.Config.MaxPositions}.");
        using var cache = model.CreateCache(capacity);

        // Warm-up (JIT, allocator) outside the measurement.
        Decode(model, exits, methods[^1].Policy, prompts[0], Math.Min(8, options.Steps), SamplingOptions.Greedy, cache);
        Decode(model, null, ExitPolicy.Off, prompts[0], Math.Min(8, options.Steps), SamplingOptions.Greedy, cache);

        int total = modes.Length * prompts.Count * methods.Count, done = 0;
        var rows = new List<ExitEvaluationRow>();
        foreach (string mode in modes)
        {
            var runs = new DecodeRun[methods.Count, prompts.Count];
            for (int p = 0; p < prompts.Count; p++)
            {
                var sampling = mode == "greedy" ? SamplingOptions.Greedy : new SamplingOptions { Temperature = 1f, TopP = 0.9f, Seed = options.Seed + p };
                for (int r = 0; r < methods.Count; r++)
                {
                    int m = (r + p) % methods.Count; // rotate the order so no method always runs first or last
                    runs[m, p] = Decode(model, methods[m].Policy.IsOff ? null : exits, methods[m].Policy, prompts[p], options.Steps, sampling, cache);
                    progress?.Invoke(++done, total);
                }
            }
            double fullSpeed = 0;
            for (int m = 0; m < methods.Count; m++)
            {
                double seconds = 0, layers = 0, heads = 0, agreement = 0, rouge = 0, nll = 0;
                int tokens = 0, decoded = 0, scored = 0;
                for (int p = 0; p < prompts.Count; p++)
                {
                    var run = runs[m, p];
                    seconds += run.Seconds;
                    layers += run.Layers;
                    heads += run.Heads;
                    tokens += run.Tokens.Count;
                    decoded += run.Steps;
                    agreement += ExitQuality.TokenAgreement(runs[0, p].Tokens, run.Tokens);
                    rouge += ExitQuality.RougeLF1(runs[0, p].Tokens, run.Tokens);
                    var (n, c) = ExitQuality.FullModelNll(model, prompts[p], run.Tokens);
                    nll += n;
                    scored += c;
                }
                double speed = decoded / seconds;
                if (m == 0) fullSpeed = speed;
                rows.Add(new ExitEvaluationRow(mode, methods[m].Method, methods[m].Threshold, layers / Math.Max(1, decoded), heads / Math.Max(1, decoded), speed,
                    speed / fullSpeed, agreement / prompts.Count, rouge / prompts.Count, Math.Exp(nll / Math.Max(1, scored)), tokens));
            }
        }
        return rows;
    }

    private sealed record DecodeRun(List<int> Tokens, double Seconds, int Steps, long Layers, long Heads);

    private static DecodeRun Decode(CausalLanguageModel model, IExitModel? exits, ExitPolicy policy, int[] prompt, int steps, SamplingOptions sampling, TimeBill.Core.Cache.KvCache cache)
    {
        cache.Reset();
        var decoder = new ExitingDecoder(model, exits, policy);
        var sampler = new TokenSampler(sampling);
        var tokens = new List<int>(steps);
        int next = sampler.Sample(decoder.Prefill(prompt, cache));
        tokens.Add(next);
        var clock = Stopwatch.StartNew();
        while (tokens.Count < steps)
        {
            next = sampler.Sample(decoder.Step(next, cache).Logits);
            tokens.Add(next);
        }
        clock.Stop();
        // The first token comes from prefill; the timed part is the decode steps after it.
        return new DecodeRun(tokens, clock.Elapsed.TotalSeconds, decoder.Tokens, decoder.LayersRun, decoder.HeadsEvaluated);
    }
}
