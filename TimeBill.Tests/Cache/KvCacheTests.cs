using TimeBill.Core.Cache;
using TimeBill.Tests.Support;
using static TorchSharp.torch;

namespace TimeBill.Tests.Cache;

/// <summary>The cache's bookkeeping: positions, compaction per head, capacity.</summary>
[Collection(ModelCollection.Name)]
public sealed class KvCacheTests(ModelFixture models)
{
    [Fact]
    public void EntriesRememberTheirPositionsAndCompactionKeepsThemPerHead()
    {
        var model = models.Get("stories260K");
        using var cache = model.CreateCache(64);
        int[] prompt = Enumerable.Range(3, 10).ToArray();
        model.ForwardLast(prompt, cache);
        Assert.Equal(10, cache.NextPosition);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), cache.PositionsOf(2, 1));

        var keysBefore = cache.Keys(2).clone();
        // Head h keeps positions {h, h+2, h+4}: different entries per head.
        long[,] keep = new long[cache.KvHeadCount, 3];
        for (int h = 0; h < cache.KvHeadCount; h++) for (int j = 0; j < 3; j++) keep[h, j] = h + 2 * j;
        using var keepTensor = tensor(keep);
        cache.Compact(2, keepTensor);

        Assert.Equal(3, cache.Length(2));
        Assert.Equal(10, cache.Length(1));
        Assert.Equal(10, cache.NextPosition); // new tokens still continue at Nx
        for (int h = 0; h < cache.KvHeadCount; h++)
        {
            Assert.Equal(new long[] { h, h + 2, h + 4 }, cache.PositionsOf(2, h));
            for (int j = 0; j < 3; j++)
                Assert.True(cache.Keys(2)[h, j].eq(keysBefore[h, h + 2 * j]).all().item<bool>());
        }

        model.ForwardLast([5], cache);
        Assert.Equal(10, cache.PositionsOf(2, 0)[^1]);
        Assert.Equal(4, cache.Length(2));
    }

    [Fact]
    public void RollbackUndoesTheLastTokensEvenAfterCompaction()
    {
        var model = models.Get("stories260K");
        using var cache = model.CreateCache(64);
        using var reference = model.CreateCache(64);
        int[] prompt = Enumerable.Range(3, 10).ToArray();
        model.ForwardLast(prompt, cache);
        model.ForwardLast(prompt, reference);
        long[,] keep = new long[cache.KvHeadCount, 4];
        for (int h = 0; h < cache.KvHeadCount; h++) for (int j = 0; j < 4; j++) keep[h, j] = h + 2 * j;
        using var keepTensor = tensor(keep);
        cache.Compact(1, keepTensor);
        reference.Compact(1, keepTensor);

        float[] expected = model.ForwardLast([7], reference);
        model.ForwardLast([9], cache);
        model.ForwardLast([11], cache);
        cache.Rollback(2);
        Assert.Equal(10, cache.NextPosition);
        Assert.Equal(4, cache.Length(1));
        Assert.Equal(10, cache.Length(0));
        Assert.Equal(expected, model.ForwardLast([7], cache)); // as if the two tokens never ran
        for (int layer = 0; layer < cache.LayerCount; layer++)
            Assert.Equal(reference.PositionsOf(layer, 1), cache.PositionsOf(layer, 1));

        cache.Rollback(0);
        Assert.Equal(11, cache.NextPosition);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Rollback(12));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Rollback(-1));
    }

    [Fact]
    public void OverflowAndBadCompactionAreRejectedClearly()
    {
        var model = models.Get("stories260K");
        using var cache = model.CreateCache(4);
        var overflow = Assert.Throws<InvalidOperationException>(() => model.ForwardLast([1, 2, 3, 4, 5], cache));
        Assert.Contains("capacity 4 exceeded", overflow.Message);

        cache.Reset();
        model.ForwardLast([1, 2], cache);
        using var outside = tensor(new long[,] { { 0, 5 }, { 0, 1 }, { 0, 1 }, { 0, 1 } });
        Assert.Throws<ArgumentException>(() => cache.Compact(0, outside));
        using var wrongHeads = tensor(new long[,] { { 0, 1 } });
        Assert.Throws<ArgumentException>(() => cache.Compact(0, wrongHeads));
        using var descending = tensor(new long[,] { { 1, 0 }, { 0, 1 }, { 0, 1 }, { 0, 1 } });
        Assert.Contains("strictly ascending", Assert.Throws<ArgumentException>(() => cache.Compact(0, descending)).Message);
        Assert.Contains("strictly ascending", Assert.Throws<ArgumentException>(() => cache.Compact(0, [0, 0, 0, 1, 0, 1, 0, 1], 2)).Message);
        Assert.Throws<ArgumentException>(() => cache.Compact(0, [0, 1, 0, 1], 2));
        Assert.Equal(2, cache.Length(0)); // a rejected compaction changes nothing
    }

    [Fact]
    public void TokenIdsOutsideTheVocabularyAreRejected()
    {
        var model = models.Get("stories260K");
        using var cache = model.CreateCache(8);
        var error = Assert.Throws<ArgumentException>(() => model.ForwardLast([1, 512], cache));
        Assert.Contains("token id 512", error.Message);
    }
}
