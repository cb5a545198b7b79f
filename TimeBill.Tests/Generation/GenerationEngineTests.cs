using TimeBill.Core.Eviction;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Generation;

/// <summary>The one generation loop: allocation-free steps, chunked prefill, leaving streams early, queueing, stops and penalties.</summary>
[Collection(ModelCollection.Name)]
public sealed class GenerationEngineTests(ModelFixture models)
{
    private CausalLanguageModel Stories => models.Get("stories260K");
    private int[] Prompt => models.StoriesTokenizer.EncodePrompt("Once upon a time");

    /// <summary>Reads the worker thread's allocation counter at two decode steps.</summary>
    private sealed class AllocationProbe(int from, int to) : GenerationHooks
    {
        public long AtFrom { get; private set; } = -1;
        public long AtTo { get; private set; } = -1;
        public int Steps { get; private set; }

        public override bool BeforeStep(int generated, int cachedEntries)
        {
            if (generated == from) AtFrom = GC.GetAllocatedBytesForCurrentThread();
            if (generated == to) AtTo = GC.GetAllocatedBytesForCurrentThread();
            return true;
        }

        public override void AfterStep(int cachedEntries, int layersRun, TimeSpan elapsed) => Steps++;
    }

    public static TheoryData<float, int, float, float> Samplings() => new()
    {
        { 0f, 0, 1f, 1f },      // greedy
        { 1f, 0, 0.9f, 1f },    // top-p
        { 0.8f, 40, 1f, 1.3f }, // top-k with a repetition penalty
    };

    [Theory]
    [MemberData(nameof(Samplings))]
    public void DecodeStepsAllocateNothingAfterWarmUpSamplingIncluded(float temperature, int topK, float topP, float repetition)
    {
        using var engine = new GenerationEngine(Stories);
        var sampling = new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP, RepetitionPenalty = repetition, FrequencyPenalty = 0.1f, Seed = 3 };
        var options = new GenerationOptions { MaxNewTokens = 130, StopTokenIds = [], Sampling = sampling };
        engine.Generate(Prompt, options); // JIT, pools
        var probe = new AllocationProbe(from: 20, to: 120);
        engine.Generate(Prompt, options, probe);
        Assert.True(probe.AtFrom >= 0 && probe.AtTo >= 0, "the probe did not see both steps");
        Assert.Equal(0, probe.AtTo - probe.AtFrom); // 100 steps, sampling and penalties included
    }

    [Fact]
    public void AChunkedPrefillGivesTheLogitsAndContinuationOfOnePass()
    {
        int[] prompt = SharedAssets.Reference("stories260K").GetProperty("cases")[1].Ints("input_ids");
        using var whole = new GenerationEngine(Stories, new EngineOptions { PrefillChunkSize = 4096 });
        using var chunked = new GenerationEngine(Stories, new EngineOptions { PrefillChunkSize = 7 });
        using var a = Stories.CreateCache(prompt.Length + 1);
        using var b = Stories.CreateCache(prompt.Length + 1);
        var one = new float[Stories.Config.VocabSize];
        var many = new float[Stories.Config.VocabSize];
        Assert.True(whole.Prefill(prompt, a, one));
        Assert.True(chunked.Prefill(prompt, b, many));
        Assert.True(one.Zip(many, (x, y) => Math.Abs(x - y)).Max() <= 1e-4);

        // With a capture that keeps the last queries' attention (SnapKV), chunks keep the same entries.
        foreach (var policy in new EvictionPolicy[] { new SnapKvPolicy(), new H2OPolicy() })
        {
            var options = new GenerationOptions { MaxNewTokens = 40, StopTokenIds = [], Eviction = policy, EvictionRatio = 0.5 };
            Assert.Equal(whole.Generate(prompt, options).Ids, chunked.Generate(prompt, options).Ids);
        }
    }

    [Theory]
    [InlineData(7, 7, new[] { 7 })]
    [InlineData(15, 7, new[] { 5, 5, 5 })]
    [InlineData(16, 7, new[] { 6, 5, 5 })]
    [InlineData(29, 14, new[] { 10, 10, 9 })]
    public void APrefillRunsTheFewestChunksOfEqualSize(int tokens, int chunk, int[] expected)
    {
        int[] prompt = [.. Enumerable.Range(0, tokens).Select(i => 1 + i % 100)];
        using var engine = new GenerationEngine(Stories, new EngineOptions { PrefillChunkSize = chunk });
        using var cache = Stories.CreateCache(tokens);
        var chunks = new ChunkRecorder();
        Assert.True(engine.Prefill(prompt, cache, new float[Stories.Config.VocabSize], hooks: chunks));
        Assert.Equal(expected, chunks.Counts);
        Assert.Equal(expected.Select((_, i) => expected.Take(i).Sum()), chunks.Offsets);
        Assert.Equal(tokens, cache.NextPosition);
    }

    private sealed class ChunkRecorder : GenerationHooks
    {
        public List<int> Counts { get; } = [];
        public List<int> Offsets { get; } = [];
        public override bool BeforePrefillChunk(int done, int count) { Offsets.Add(done); Counts.Add(count); return true; }
    }

    /// <summary>Counts the logits the loop asked for: one per sampled token.</summary>
    private sealed class SampleCounter : ILogitsProcessor
    {
        private int _count;
        public int Count => Volatile.Read(ref _count);
        public void Process(Span<float> logits, ReadOnlySpan<int> generated) => Interlocked.Increment(ref _count);
    }

    [Fact]
    public async Task LeavingAStreamEarlyEndsItsJobWithinAStepAndTheNextJobRunsAtOnce()
    {
        // stories260K's vocabulary and a wider, longer-context shape: steps of a few milliseconds, a 2,000-token request.
        var shape = Stories.Config with { HiddenSize = 512, IntermediateSize = 1536, LayerCount = 4, HeadCount = 8, KvHeadCount = 4, HeadDim = 64, MaxPositions = 4096 };
        using var model = CausalLanguageModel.CreateRandom(shape, seed: 5);
        using var generator = new TextGenerator(model, models.StoriesTokenizer);
        var counter = new SampleCounter();
        var longJob = new GenerationOptions { MaxNewTokens = 2000, StopTokenIds = [], LogitsProcessors = [counter] };
        int received = 0, atBreak = -1;
        await foreach (var token in generator.StreamAsync("Once upon a time", longJob))
            if (++received == 3)
            {
                atBreak = counter.Count;
                break;
            }
        // The job ended within two steps of the break (the worker may run ahead of the reader by some tokens), and
        // before leaving the loop returned: it never reached its 2,000 tokens.
        int sampled = counter.Count;
        Assert.InRange(sampled - atBreak, 0, 2);
        Assert.True(sampled < 100, $"{sampled} tokens");
        var next = new SampleCounter();
        var result = await generator.GenerateAsync("Once upon a time", new GenerationOptions { MaxNewTokens = 8, LogitsProcessors = [next] });
        Assert.Equal(sampled, counter.Count); // the abandoned job never ran on
        Assert.Equal(result.Ids.Count, next.Count - (result.StopReason == StopReason.StopToken ? 1 : 0));
    }

    /// <summary>Blocks the worker until released, so jobs queue behind it.</summary>
    private sealed class Gate : GenerationHooks
    {
        public ManualResetEventSlim Entered { get; } = new();
        public ManualResetEventSlim Release { get; } = new();

        public override bool BeforeStep(int generated, int cachedEntries)
        {
            Entered.Set();
            Release.Wait();
            return true;
        }
    }

    [Fact]
    public async Task AJobCancelledWhileQueuedEndsAtOnceAndNeverRuns()
    {
        using var engine = new GenerationEngine(Stories);
        var gate = new Gate();
        var blocking = engine.GenerateAsync(Prompt, new GenerationOptions { MaxNewTokens = 2, StopTokenIds = [] }, gate);
        Assert.True(gate.Entered.Wait(TimeSpan.FromSeconds(30)));
        using var cancel = new CancellationTokenSource();
        var counter = new SampleCounter();
        var queued = engine.GenerateAsync(Prompt, new GenerationOptions { LogitsProcessors = [counter] }, cancellationToken: cancel.Token);
        var others = Enumerable.Range(0, 20).Select(_ => engine.GenerateAsync(Prompt, new GenerationOptions { MaxNewTokens = 4 })).ToArray();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued); // while the worker is still busy
        gate.Release.Set();
        await blocking;
        await Task.WhenAll(others);
        Assert.Equal(0, counter.Count);
    }

    [Fact]
    public void StopSequencesEndTheTextAcrossTokenBoundariesAndAreNotReturned()
    {
        using var generator = new TextGenerator(Stories, models.StoriesTokenizer);
        var plain = generator.Generate(Prompt, new GenerationOptions { MaxNewTokens = 60 });
        // "Lily. She" spans several tokens of the greedy story.
        int at = plain.Text.IndexOf("Lily. She", StringComparison.Ordinal);
        Assert.True(at > 0, plain.Text);
        var pieces = new List<string>();
        var stopped = generator.Generate(Prompt, new GenerationOptions { MaxNewTokens = 60, StopSequences = ["Lily. She", "never there"] }, t => pieces.Add(t.Text));
        Assert.Equal(StopReason.StopSequence, stopped.StopReason);
        Assert.Equal(plain.Text[..at], stopped.Text);
        Assert.Equal(stopped.Text, string.Concat(pieces));
        Assert.True(stopped.Ids.Count < plain.Ids.Count);
    }

    [Fact]
    public void PenaltiesFollowTheirDefinitions()
    {
        var options = new SamplingOptions { FrequencyPenalty = 0.5f, PresencePenalty = 0.25f, RepetitionPenalty = 2f };
        var processor = new PenaltyProcessor(options, 6);
        processor.Reset([4]);
        float[] logits = [1, 1, 1, -1, 3, 2];
        processor.Process(logits, [1, 1, 3]);
        // token 1: twice in the response: 1/2 − 2·0.5 − 0.25; token 3: once: −1·2 − 0.5 − 0.25; token 4: prompt only: 3/2.
        Assert.Equal([1f, 0.5f - 1f - 0.25f, 1f, -2f - 0.75f, 1.5f, 2f], logits);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingOptions { RepetitionPenalty = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingOptions { FrequencyPenalty = float.NaN }.Validate());
    }

    [Fact]
    public void SeedsAreLongs()
    {
        using var engine = new GenerationEngine(Stories);
        GenerationOptions With(long seed) => new() { MaxNewTokens = 40, StopTokenIds = [], Sampling = new SamplingOptions { Temperature = 1, Seed = seed } };
        long big = (long)int.MaxValue * 5 + 17;
        Assert.Equal(engine.Generate(Prompt, With(big)).Ids, engine.Generate(Prompt, With(big)).Ids);
        Assert.NotEqual(engine.Generate(Prompt, With(big)).Ids, engine.Generate(Prompt, With(big + 1)).Ids);
    }

    [Fact]
    public void AHugeTokenCapIsClampedToTheContextInsteadOfOverflowing()
    {
        using var engine = new GenerationEngine(Stories);
        var result = engine.Generate(Prompt, new GenerationOptions { MaxNewTokens = int.MaxValue, StopTokenIds = [] });
        Assert.Equal(StopReason.ContextFull, result.StopReason);
        Assert.Equal(Stories.Config.MaxPositions - Prompt.Length + 1, result.Ids.Count);
        var again = engine.Generate(Prompt, new GenerationOptions { MaxNewTokens = int.MaxValue, StopTokenIds = [] });
        Assert.Equal(result.Ids, again.Ids);
    }
}
