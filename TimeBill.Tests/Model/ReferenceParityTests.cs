using TimeBill.Core.Model;
using TimeBill.Tests.Support;
using static TorchSharp.torch;

namespace TimeBill.Tests.Model;

/// <summary>The model reproduces the independent reference implementation's outputs.</summary>
[Collection(ModelCollection.Name)]
public sealed class ReferenceParityTests(ModelFixture models)
{
    public static TheoryData<string, int, double> Cases() => new()
    {
        { "stories260K", 0, 1e-4 }, { "stories260K", 1, 1e-4 }, { "stories260K", 2, 1e-4 }, { "stories260K", 3, 1e-4 },
        { "tiny-random-qwen2", 0, 1e-4 }, { "tiny-random-qwen2", 1, 1e-4 }, { "tiny-random-qwen2", 2, 1e-4 },
        { "tiny-random-llama3-bf16", 0, 1e-3 }, { "tiny-random-llama3-bf16", 1, 1e-3 }, { "tiny-random-llama3-bf16", 2, 1e-3 },
        { "tiny-random-qwen3", 0, 1e-3 }, { "tiny-random-qwen3", 1, 1e-3 },
        { "tiny-random-llama31", 0, 1e-3 }, { "tiny-random-llama31", 1, 1e-3 },
        { "tiny-random-mistral-swa", 0, 1e-4 }, { "tiny-random-mistral-swa", 1, 1e-4 }, { "tiny-random-mistral-swa", 2, 1e-4 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void LastLogitsAndPerPositionArgmaxMatchReference(string name, int index, double tolerance)
    {
        var model = models.Get(name);
        var reference = SharedAssets.Reference(name).GetProperty("cases")[index];
        int[] ids = reference.Ints("input_ids");

        using var cache = model.CreateCache(ids.Length);
        using var logits = model.Forward(ids, cache, allLogits: true);
        float[] last = logits[-1].data<float>().ToArray();
        float[] expected = reference.Floats("logits_last");
        Assert.Equal(expected.Length, last.Length);
        double worst = expected.Zip(last, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= tolerance, $"max |Δlogit| = {worst:E3} exceeds {tolerance:E1}");

        long[] argmax = logits.argmax(-1).data<long>().ToArray();
        Assert.Equal(reference.Ints("argmax_per_position").Select(i => (long)i), argmax);

        if (reference.TryGetProperty("logits_first", out _))
        {
            float[] first = logits[0].data<float>().ToArray();
            double worstFirst = reference.Floats("logits_first").Zip(first, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worstFirst <= tolerance, $"first position: max |Δlogit| = {worstFirst:E3}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void IncrementalDecodeMatchesOneShotForward(string name, int index, double tolerance)
    {
        // Prefill of all-but-last then a one-token step must equal the one-shot forward's last logits.
        var model = models.Get(name);
        int[] ids = SharedAssets.Reference(name).GetProperty("cases")[index].Ints("input_ids");
        if (ids.Length < 2) return;
        using var oneShot = model.CreateCache(ids.Length);
        float[] expected = model.ForwardLast(ids, oneShot);
        using var incremental = model.CreateCache(ids.Length);
        model.ForwardLast(ids.AsSpan(0, ids.Length - 1), incremental);
        float[] actual = model.ForwardLast(ids.AsSpan(ids.Length - 1), incremental);
        double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= tolerance / 2, $"max |Δlogit| = {worst:E3}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void SlidingWindowIsAppliedBeyondTheWindow(int index)
    {
        // The reference also gives the logits with the window ignored: they must differ from ours where ours match.
        var model = models.Get("tiny-random-mistral-swa");
        var file = SharedAssets.Reference("tiny-random-mistral-swa");
        Assert.Equal(file.GetProperty("sliding_window").GetInt32(), model.Config.SlidingWindow);
        var reference = file.GetProperty("cases")[index];
        int[] ids = reference.Ints("input_ids");
        using var cache = model.CreateCache(ids.Length);
        float[] last = model.ForwardLast(ids, cache);
        double fromWindowed = reference.Floats("logits_last").Zip(last, (e, a) => Math.Abs(e - a)).Max();
        double fromFull = reference.Floats("logits_last_if_window_ignored").Zip(last, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(fromWindowed <= 1e-4 && fromFull > 1e-2, $"|Δ| to the windowed reference {fromWindowed:E3}, to full attention {fromFull:E3}");
    }

    [Theory]
    [InlineData("stories260K")]
    [InlineData("tiny-random-qwen2")]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-mistral-swa")]
    public void LongPromptPrefillEqualsChunkedPrefill(string name)
    {
        // A fresh prefill runs causal attention in query blocks; prefilling in uneven chunks takes the general masked
        // path over the cache instead. Every position's logits must agree, across several block boundaries.
        var model = models.Get(name);
        int length = Math.Min(333, model.Config.MaxPositions);
        var random = new Random(7);
        int[] ids = Enumerable.Range(0, length).Select(_ => random.Next(model.Config.VocabSize)).ToArray();
        using var oneShotCache = model.CreateCache(length);
        using var oneShot = model.Forward(ids, oneShotCache, allLogits: true);
        using var chunkedCache = model.CreateCache(length);
        for (int start = 0; start < length; start += 37)
        {
            int size = Math.Min(37, length - start);
            using var chunk = model.Forward(ids.AsSpan(start, size), chunkedCache, allLogits: true);
            double worst = (chunk - oneShot.narrow(0, start, size)).abs().max().item<float>();
            Assert.True(worst <= 1e-4, $"positions {start}..{start + size - 1}: max |Δlogit| = {worst:E3}");
        }
    }
}
