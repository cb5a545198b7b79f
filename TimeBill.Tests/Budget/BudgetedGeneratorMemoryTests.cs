using System.Diagnostics;
using TimeBill.Core.Budget;
using TimeBill.Core.Eviction;
using TimeBill.Core.Model;
using TimeBill.Core.Planning;
using TimeBill.Core.Sampling;
using TimeBill.Core.Tokenization;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Predictors.ResponseLength;
using TimeBill.Tests.Generation;
using TimeBill.Tests.Support;
using static TorchSharp.torch;

namespace TimeBill.Tests.Budget;

/// <summary>
/// A host that answers budgeted requests for weeks must not grow: thousands of requests, completed, evicted, killed at
/// the deadline, dropped and cancelled mid-generation, through both length-predictor kinds (a self-probe read from the
/// prefill, a small model beside it), leave live native tensors and resident memory where they were.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class BudgetedGeneratorMemoryTests
{
    /// <summary>Prefill 2 ms, a step 0.3 ms + 0.001 ms per entry: prices for the deterministic clock below.</summary>
    private static readonly ExecutionTimeEstimator Estimator = new(new ExecutionTimeCoefficients(
        new PrefillCost(0, 0, 2), new DecodeStepCost(0.001, 0.3), new LayeredDecodeStepCost(0.0002, 0.06, 0, 5)));

    private enum Kind { Completed, Evicted, Killed, Dropped, Cancelled }

    [Fact]
    public async Task LiveTensorsAndProcessMemoryStayFlatOverThousandsOfBudgetedRequests()
    {
        string folder = SharedAssets.Model("stories260K");
        using var model = CausalLanguageModel.Load(folder);
        var tokenizer = TextTokenizer.Load(folder, model.GenerationConfig.BosTokenId);
        string[] texts = ["Once upon a time", "The little bird was sad because", "Lily and Tom went to the park.", "One day, a big dog"];
        var prompts = texts.Select(tokenizer.EncodePrompt).ToArray();

        // Both predictor kinds, trained for one epoch on made-up lengths: their predictions only steer α here.
        var lengths = prompts.Select((_, i) => 20 + 10 * i).ToArray();
        var features = SelfProbeLengthPredictor.ExtractFeatures(model, prompts, layer: model.Config.LayerCount - 1);
        var (probe, _) = LengthPredictorTrainer.TrainSelfProbe(model, model.Config.LayerCount - 1, features, lengths, features, lengths,
            new LengthHeadSpec(16, 512), 16, new RlpTrainingOptions { MaxEpochs = 1 });
        var records = prompts.Select((p, i) => new LengthRecord(i, p, lengths[i], false)).ToList();
        var (small, _) = LengthPredictorTrainer.TrainSmallModel(records, records, model.Identity, model.Config.VocabSize, model.Config.MaxPositions,
            new LengthHeadSpec(16, 512), new SmallModelShape(16, 1, 2, 8), new RlpTrainingOptions { MaxEpochs = 1 });
        using var probeOwner = probe;
        using var smallOwner = small;

        // Every clock reading advances 50 µs: kills and drops happen at the same requests on any machine.
        var clock = new SteppingTimeProvider(TimeSpan.FromMicroseconds(50));
        using var withProbe = new BudgetedGenerator(model, tokenizer, Estimator, probe, time: clock);
        using var withSmall = new BudgetedGenerator(model, tokenizer, Estimator, small, time: clock);
        var seen = new Dictionary<BudgetStatus, int>();
        int cancelled = 0, evicted = 0;

        async Task Run(int from, int count)
        {
            for (int i = from; i < from + count; i++)
            {
                var generator = i / 5 % 2 == 0 ? withProbe : withSmall;
                var kind = (Kind)(i % 5);
                var request = new BudgetedRequest
                {
                    PromptIds = prompts[i % prompts.Length],
                    Budget = TimeSpan.FromMilliseconds(kind switch { Kind.Killed => 4, Kind.Dropped => 1, _ => 1e6 }),
                    MaxNewTokens = kind == Kind.Killed ? 64 : 12,
                    StopTokenIds = kind == Kind.Killed ? [] : null,
                    Sampling = new SamplingOptions { Temperature = 1, TopP = 0.9f, Seed = i },
                    Planner = kind == Kind.Evicted ? new PlannerOptions { FixedEvictionRatio = 0.5 } : new PlannerOptions(),
                };
                if (kind == Kind.Cancelled)
                {
                    // Cancelled from inside the decode loop, at the third token, so it always lands mid-generation.
                    using var cancel = new CancellationTokenSource();
                    try
                    {
                        generator.Run(request, clock.GetTimestamp(), token => { if (token.Index == 2) cancel.Cancel(); }, cancel.Token);
                    }
                    catch (OperationCanceledException) { cancelled++; }
                    continue;
                }
                var result = await generator.GenerateAsync(request);
                seen[result.Status] = seen.GetValueOrDefault(result.Status) + 1;
                if (result.EvictionTime > TimeSpan.Zero) evicted++;
            }
        }

        withProbe.WarmUp();
        withSmall.WarmUp();
        // Warm-up: every path, caches, allocator pools, JIT. After 100 requests the C heap still grew 7-17 MiB over the next
        // 2,000, then nothing over 4,000 more: as many requests as are measured.
        await Run(0, 2000);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long tensorsBefore = Tensor.TotalCount;
        long rssBefore = Process.GetCurrentProcess().WorkingSet64;
        long committedBefore = GC.GetGCMemoryInfo().TotalCommittedBytes;
        long liveBefore = GC.GetTotalMemory(forceFullCollection: true);
        seen.Clear();
        cancelled = evicted = 0;

        // The C heap is read right around the requests, nothing else between.
        long? nativeBefore = NativeHeap.InUseBytes();
        await Run(2000, 2000);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long? nativeGrowth = NativeHeap.InUseBytes() - nativeBefore;
        long tensorsAfter = Tensor.TotalCount;
        long liveGrowth = GC.GetTotalMemory(forceFullCollection: true) - liveBefore;
        // Resident memory outside the managed heap: the GC commits more heap as its allocation budget adapts (a
        // one-time step of 10-40 MiB here), which is its policy, not a leak. When it decommits instead, the pages it
        // gives back were often never touched, so resident memory falls by less: only growth is subtracted.
        long rssDelta = Process.GetCurrentProcess().WorkingSet64 - rssBefore, committedDelta = GC.GetGCMemoryInfo().TotalCommittedBytes - committedBefore;
        long rssGrowth = rssDelta - Math.Max(0, committedDelta);

        // The mix really happened.
        Assert.Equal(400, cancelled);
        Assert.True(evicted >= 400, $"only {evicted} requests evicted");
        Assert.True(seen.GetValueOrDefault(BudgetStatus.Completed) >= 800, $"completed: {seen.GetValueOrDefault(BudgetStatus.Completed)}");
        Assert.True(seen.GetValueOrDefault(BudgetStatus.DeadlineExceeded) + seen.GetValueOrDefault(BudgetStatus.Infeasible) >= 800,
            $"killed or dropped: {seen.GetValueOrDefault(BudgetStatus.DeadlineExceeded) + seen.GetValueOrDefault(BudgetStatus.Infeasible)}");

        Assert.Equal(tensorsBefore, tensorsAfter);
        Assert.True(liveGrowth < 4L << 20, $"live managed memory grew by {liveGrowth >> 10} KiB over 2,000 budgeted requests");
        if (nativeGrowth is long native) Assert.True(native < 16L << 20, $"the C heap grew by {native >> 10} KiB over 2,000 budgeted requests");
        Assert.True(rssGrowth < 32L << 20,
            $"resident memory outside the managed heap grew by {rssGrowth >> 20} MiB over 2,000 budgeted requests " +
            $"(resident {rssDelta >> 20} MiB, GC-committed {committedDelta >> 20} MiB, C heap {nativeGrowth >> 20} MiB)");
    }
}
