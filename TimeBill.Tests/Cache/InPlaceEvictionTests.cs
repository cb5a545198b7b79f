using TimeBill.Core.Cache;
using TimeBill.Core.Decoding;
using TimeBill.Core.Eviction;
using TimeBill.Core.Model;
using TimeBill.Kernels;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Cache;

/// <summary>
/// Keeping entries in place (<see cref="KvCache.Keep"/>) is specified by compaction: whatever reads the cache must
/// see exactly what it would after <see cref="KvCache.Compact(int, ReadOnlySpan{int}, int)"/>, bit for bit, and the
/// kernel decode path, which reads the kept entries where they are, must give the very logits it gives on the packed cache.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class InPlaceEvictionTests(ModelFixture models)
{
    private CausalLanguageModel Model => models.Get("stories260K");

    private KvCache Prefilled(int length, int extra)
    {
        var cache = Model.CreateCache(length + extra);
        var random = new Random(11);
        Model.ForwardLast(Enumerable.Range(0, length).Select(_ => random.Next(3, Model.Config.VocabSize)).ToArray(), cache);
        return cache;
    }

    /// <summary>Per head, <paramref name="count"/> ascending indices out of <paramref name="length"/>, different per head.</summary>
    private static int[] KeptIndices(int heads, int length, int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, heads).SelectMany(_ => Enumerable.Range(0, length).OrderBy(_ => random.Next()).Take(count).Order())];
    }

    private static void AssertSame(KvCache expected, KvCache actual)
    {
        Assert.Equal(expected.NextPosition, actual.NextPosition);
        for (int layer = 0; layer < expected.LayerCount; layer++)
        {
            Assert.Equal(expected.Length(layer), actual.Length(layer));
            using var ep = expected.Positions(layer);
            using var ap = actual.Positions(layer);
            Assert.Equal(ep.data<long>().ToArray(), ap.data<long>().ToArray());
            using var ek = expected.Keys(layer);
            using var ak = actual.Keys(layer);
            Assert.Equal(ek.data<float>().ToArray(), ak.data<float>().ToArray());
            using var ev = expected.Values(layer);
            using var av = actual.Values(layer);
            Assert.Equal(ev.data<float>().ToArray(), av.data<float>().ToArray());
        }
    }

    [Fact]
    public void Keeping_moves_nothing_and_reads_back_as_compaction()
    {
        using var packed = Prefilled(40, 8);
        using var inPlace = Prefilled(40, 8);
        int heads = packed.KvHeadCount;
        var storageBefore = inPlace.KeyStorage(1).ToArray();
        int[] keep = KeptIndices(heads, 40, 17, seed: 1);

        packed.Compact(1, keep, 17);
        inPlace.Keep(1, keep, 17);

        Assert.True(inPlace.HoldsInPlace(1));
        Assert.False(inPlace.HoldsInPlace(0));
        Assert.Equal(17, inPlace.Length(1));
        Assert.Equal(storageBefore, inPlace.KeyStorage(1).ToArray()); // nothing moved
        for (int h = 0; h < heads; h++)
            Assert.Equal(keep.AsSpan(h * 17, 17).ToArray(), inPlace.Slots(1).Slice(h * inPlace.Capacity, 17).ToArray());
        AssertSame(packed, inPlace);
        Assert.False(inPlace.HoldsInPlace(1)); // reading the tensors packed it
    }

    [Fact]
    public void Tokens_appended_after_keeping_follow_the_kept_entries_and_a_second_keep_composes()
    {
        using var packed = Prefilled(40, 8);
        using var inPlace = Prefilled(40, 8);
        int heads = packed.KvHeadCount, width = heads * packed.HeadDim;
        int[] first = KeptIndices(heads, 40, 20, seed: 2);
        packed.Compact(3, first, 20);
        inPlace.Keep(3, first, 20);
        var random = new Random(3);
        foreach (var cache in new[] { packed, inPlace })
        {
            var keys = Enumerable.Range(0, width).Select(_ => random.NextSingle()).ToArray();
            random = new Random(3); // the same token for both caches
            for (int layer = 0; layer < cache.LayerCount; layer++) cache.AppendToken(layer, keys, keys);
            cache.Advance(1);
        }
        Assert.True(inPlace.HoldsInPlace(3));
        Assert.Equal(40, inPlace.Slots(3)[20]); // after the last slot in use, not in an evicted entry's place

        int[] second = KeptIndices(heads, 21, 9, seed: 4);
        packed.Compact(3, second, 9);
        inPlace.Keep(3, second, 9);
        AssertSame(packed, inPlace);
    }

    [Fact]
    public void Rollback_and_reset_see_the_kept_entries()
    {
        using var packed = Prefilled(30, 8);
        using var inPlace = Prefilled(30, 8);
        int[] keep = KeptIndices(packed.KvHeadCount, 30, 12, seed: 5);
        for (int layer = 0; layer < packed.LayerCount; layer++)
        {
            packed.Compact(layer, keep, 12);
            inPlace.Keep(layer, keep, 12);
        }
        Model.ForwardLast([7], packed);
        Model.ForwardLast([7], inPlace);
        packed.Rollback(1);
        inPlace.Rollback(1);
        AssertSame(packed, inPlace);

        inPlace.Reset();
        Assert.All(Enumerable.Range(0, inPlace.LayerCount), layer => Assert.False(inPlace.HoldsInPlace(layer)));
        Assert.Equal(0, inPlace.Length(0));
    }

    [Theory]
    [InlineData("snapkv", 0.5)]
    [InlineData("knorm", 0.75)]
    [InlineData("pyramidkv", 0.9)]
    public void The_kernel_path_decodes_on_kept_entries_in_place_exactly_as_on_the_packed_cache(string policyName, double alpha)
    {
        var model = Model;
        var decoder = new KernelDecoder(model);
        var policy = EvictionPolicies.Create(policyName);
        var random = new Random(21);
        int[] prompt = Enumerable.Range(0, 90).Select(_ => random.Next(3, model.Config.VocabSize)).ToArray();
        using var a = model.CreateCache(100);
        using var b = model.CreateCache(100);
        foreach (var cache in new[] { a, b })
        {
            using var capture = policy.CreateCapture(model.Config);
            model.ForwardLast(prompt, cache, capture);
            policy.Evict(cache, alpha, capture);
        }
        Assert.True(a.HoldsInPlace(0));
        for (int layer = 0; layer < b.LayerCount; layer++) b.Pack(layer);

        foreach (int token in new[] { 5, 9, 13, 2, 40 })
            Assert.Equal(decoder.Step(token, b), decoder.Step(token, a)); // in place the whole way: nothing packs it
        Assert.True(a.HoldsInPlace(0));
        AssertSame(b, a);
    }

    [Fact]
    public void Decode_attention_through_slots_equals_attention_over_the_gathered_entries()
    {
        const int heads = 6, kvHeads = 2, d = 20, capacity = 50, length = 37;
        var random = new Random(8);
        float[] Floats(int n) => [.. Enumerable.Range(0, n).Select(_ => random.NextSingle() * 2 - 1)];
        float[] q = Floats(heads * d), keys = Floats(kvHeads * capacity * d), values = Floats(kvHeads * capacity * d);
        int[] slots = new int[kvHeads * capacity];
        float[] gatheredKeys = new float[kvHeads * capacity * d], gatheredValues = new float[kvHeads * capacity * d];
        for (int h = 0; h < kvHeads; h++)
        {
            int[] chosen = [.. Enumerable.Range(0, capacity).OrderBy(_ => random.Next()).Take(length).Order()];
            for (int t = 0; t < length; t++)
            {
                slots[h * capacity + t] = chosen[t];
                keys.AsSpan((h * capacity + chosen[t]) * d, d).CopyTo(gatheredKeys.AsSpan((h * capacity + t) * d, d));
                values.AsSpan((h * capacity + chosen[t]) * d, d).CopyTo(gatheredValues.AsSpan((h * capacity + t) * d, d));
            }
        }
        foreach (var variant in new[] { DecodeAttention.DefaultVariant, DecodeAttention.DefaultVariant with { Threads = 2, BlockSize = 8 } })
        {
            var expected = new float[heads * d];
            var actual = new float[heads * d];
            DecodeAttention.Apply(q, gatheredKeys, gatheredValues, heads, kvHeads, d, capacity, length, expected, variant);
            DecodeAttention.Apply(q, keys, values, heads, kvHeads, d, capacity, length, actual, variant, slots);
            Assert.Equal(expected, actual);
        }
        slots[3] = capacity;
        Assert.Contains("outside", Assert.Throws<ArgumentException>(() =>
            DecodeAttention.Apply(q, keys, values, heads, kvHeads, d, capacity, length, new float[heads * d], null, slots)).Message);
    }
}
