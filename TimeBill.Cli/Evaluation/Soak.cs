using System.Diagnostics;
using TimeBill.Core.Budget;
using TimeBill.Core.Eviction;
using TimeBill.Core.Planning;
using TimeBill.Core.Sampling;
using static TorchSharp.torch;

namespace TimeBill.Cli.Evaluation;

/// <summary>What a soak runs and the growth it tolerates.</summary>
internal sealed record SoakSettings
{
    /// <summary>Requests after the warm-up.</summary>
    public int Requests { get; init; } = 3000;
    /// <summary>Warm-up requests (JIT, caches, allocator pools) before the baseline is taken.</summary>
    public int WarmUp { get; init; } = 100;
    /// <summary>Callers submitting at once.</summary>
    public int Concurrency { get; init; } = 4;
    /// <summary>Token cap of the ordinary requests (tight-budget ones get 64, to run into their deadline).</summary>
    public int MaxNewTokens { get; init; } = 16;
    /// <summary>Memory readings over the run, the final one included (plus the baseline before it).</summary>
    public int Samples { get; init; } = 10;
    /// <summary>Resident memory growth beyond the managed heap's own committed growth that fails the soak, MiB.</summary>
    public double MaxResidentGrowthMiB { get; init; } = 64;
    /// <summary>Live managed heap growth (after a full collection) that fails the soak, MiB.</summary>
    public double MaxManagedGrowthMiB { get; init; } = 8;
    /// <summary>Seed of the sampling.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>One reading: requests finished after the warm-up, resident memory, live managed heap, live native tensors.</summary>
internal sealed record SoakSample(int Requests, double Seconds, double ResidentMiB, double ManagedHeapMiB, double CommittedHeapMiB, long LiveTensors);

/// <summary>A soak's readings, its mix of outcomes, and whether growth stayed inside the bounds.</summary>
internal sealed record SoakReport(SoakSettings Settings, IReadOnlyList<SoakSample> Samples, IReadOnlyDictionary<string, int> Outcomes, double ResidentGrowthMiB,
    double ManagedGrowthMiB, long TensorGrowth, IReadOnlyList<string> Failures)
{
    /// <summary>No bound was crossed.</summary>
    public bool Passed => Failures.Count == 0;
}

/// <summary>
/// Thousands of mixed budgeted requests from concurrent callers (every eviction policy at a fixed α, both overrun
/// strategies against tight budgets, infeasible budgets, streams broken off early, cancellations mid-generation and
/// before the start) while resident memory, the managed heap and live native tensors are sampled; fails on growth past
/// the <see cref="SoakSettings"/> bounds (live tensors: any growth).
/// </summary>
internal sealed class Soak(BudgetedGenerator generator, IReadOnlyList<int[]> prompts, SoakSettings settings, Action<SoakSample>? progress = null)
{
    private enum Kind { Evicted, KillTight, SkipNextTight, Infeasible, StreamBreak, StreamCancel, CancelMidway, CancelledBefore }

    private static readonly Kind[] Kinds = Enum.GetValues<Kind>();
    private readonly Dictionary<string, int> _outcomes = [];
    private readonly Lock _gate = new();

    public async Task<SoakReport> RunAsync(CancellationToken cancellationToken = default)
    {
        if (settings.Requests < 1 || settings.Concurrency < 1 || settings.Samples < 1)
            throw new ArgumentException("a soak needs at least one request, one caller and one sample.");
        await RunRange(0, settings.WarmUp, null, cancellationToken);
        lock (_gate) _outcomes.Clear();

        var clock = Stopwatch.StartNew();
        var samples = new List<SoakSample> { Sample(0, clock) };
        int every = Math.Max(1, settings.Requests / settings.Samples);
        await RunRange(settings.WarmUp, settings.Requests, done =>
        {
            if (done % every == 0 && done < settings.Requests)
            {
                var sample = Sample(done, clock);
                samples.Add(sample);
                progress?.Invoke(sample);
            }
        }, cancellationToken);
        var last = Sample(settings.Requests, clock);
        samples.Add(last);
        progress?.Invoke(last);

        var first = samples[0];
        double managed = last.ManagedHeapMiB - first.ManagedHeapMiB;
        // The GC commits more heap as its budget adapts (its policy, not a leak); the live heap is bounded on its own.
        double resident = last.ResidentMiB - first.ResidentMiB - (last.CommittedHeapMiB - first.CommittedHeapMiB);
        long tensors = last.LiveTensors - first.LiveTensors;
        var failures = new List<string>();
        if (tensors > 0) failures.Add($"live native tensors grew by {tensors}");
        if (managed > settings.MaxManagedGrowthMiB) failures.Add($"the live managed heap grew by {managed:F1} MiB (bound {settings.MaxManagedGrowthMiB} MiB)");
        if (resident > settings.MaxResidentGrowthMiB)
            failures.Add($"resident memory outside the managed heap grew by {resident:F1} MiB (bound {settings.MaxResidentGrowthMiB} MiB)");
        Dictionary<string, int> outcomes;
        lock (_gate) outcomes = new(_outcomes);
        return new SoakReport(settings, samples, outcomes, resident, managed, tensors, failures);
    }

    /// <summary>Requests <paramref name="from"/>..+<paramref name="count"/> from concurrent callers; <paramref name="done"/> sees the running count (one caller at a time).</summary>
    private async Task RunRange(int from, int count, Action<int>? done, CancellationToken cancellationToken)
    {
        int next = from - 1, finished = 0;
        var doneGate = new SemaphoreSlim(1, 1);
        async Task Caller()
        {
            await Task.Yield();
            for (int i = Interlocked.Increment(ref next); i < from + count; i = Interlocked.Increment(ref next))
            {
                cancellationToken.ThrowIfCancellationRequested();
                string outcome = await RunOne(i, cancellationToken);
                lock (_gate) _outcomes[outcome] = _outcomes.GetValueOrDefault(outcome) + 1;
                if (done is null) continue;
                await doneGate.WaitAsync(cancellationToken);
                try { done(++finished); }
                finally { doneGate.Release(); }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, settings.Concurrency).Select(_ => Caller()));
    }

    private async Task<string> RunOne(int i, CancellationToken cancellationToken)
    {
        var kind = Kinds[i % Kinds.Length];
        string policy = EvictionPolicies.Names[i / Kinds.Length % EvictionPolicies.Names.Count];
        bool tight = kind is Kind.KillTight or Kind.SkipNextTight;
        var request = new BudgetedRequest
        {
            PromptIds = prompts[i % prompts.Count],
            Budget = TimeSpan.FromMilliseconds(kind switch { Kind.Infeasible => 0.05, Kind.KillTight or Kind.SkipNextTight => 3, _ => 1e6 }),
            Overrun = kind == Kind.SkipNextTight ? OverrunStrategy.SkipNext : OverrunStrategy.Kill,
            MaxNewTokens = tight ? 64 : settings.MaxNewTokens,
            StopTokenIds = tight ? [] : null,
            Sampling = new SamplingOptions { Temperature = 1, TopP = 0.9f, Seed = settings.Seed + i },
            Planner = new PlannerOptions { Eviction = EvictionPolicies.Create(policy, i), FixedEvictionRatio = kind == Kind.Evicted ? 0.5 : null },
        };
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            switch (kind)
            {
                case Kind.StreamBreak:
                    await foreach (var item in generator.StreamAsync(request, cancel.Token))
                        if (item.IsFinal || item.Token.Index >= 2) break;
                    return "stream broken off";
                case Kind.StreamCancel:
                    await foreach (var item in generator.StreamAsync(request, cancel.Token))
                        if (!item.IsFinal && item.Token.Index == 1) await cancel.CancelAsync();
                    return "stream completed before its cancellation";
                case Kind.CancelMidway:
                    await generator.GenerateAsync(request with { MaxNewTokens = 64, StopTokenIds = [] }, CancelSoon(cancel));
                    return "completed before its cancellation";
                case Kind.CancelledBefore:
                    await cancel.CancelAsync();
                    await generator.GenerateAsync(request, cancel.Token);
                    return "completed despite cancellation";
                default:
                    var result = await generator.GenerateAsync(request, cancel.Token);
                    return $"{(kind == Kind.SkipNextTight ? "skip-next" : "kill")}: {result.Status}";
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return kind switch { Kind.StreamCancel => "stream cancelled", Kind.CancelledBefore => "cancelled before the start", _ => "cancelled mid-generation" };
        }
    }

    /// <summary>The token of <paramref name="cancel"/>, cancelled by a timer a millisecond from now (mid-generation, or while queued).</summary>
    private static CancellationToken CancelSoon(CancellationTokenSource cancel)
    {
        cancel.CancelAfter(TimeSpan.FromMilliseconds(1));
        return cancel.Token;
    }

    private static SoakSample Sample(int requests, Stopwatch clock)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        const double MiB = 1 << 20;
        return new SoakSample(requests, clock.Elapsed.TotalSeconds, process.WorkingSet64 / MiB, managed / MiB,
            GC.GetGCMemoryInfo().TotalCommittedBytes / MiB, Tensor.TotalCount);
    }
}
