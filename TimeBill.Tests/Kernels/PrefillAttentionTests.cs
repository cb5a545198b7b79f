using TimeBill.Kernels;

namespace TimeBill.Tests.Kernels;

/// <summary>The prefill attention kernel against a float64 softmax over each query's visible keys.</summary>
public class PrefillAttentionTests
{
    [Theory]
    [InlineData(9, 3, 64, 37, 0, 0)]
    [InlineData(9, 3, 64, 130, 0, 0)]
    [InlineData(4, 4, 32, 16, 21, 0)]
    [InlineData(8, 2, 128, 70, 64, 0)]
    [InlineData(6, 3, 64, 1, 90, 0)]
    [InlineData(4, 2, 64, 100, 0, 17)]
    [InlineData(4, 1, 32, 45, 30, 64)]
    public void Every_query_attends_to_its_visible_keys_as_the_float64_softmax(int heads, int kvHeads, int headDim, int tokens, int offset, int window)
    {
        var random = new Random(heads * 1000 + tokens + offset);
        int capacity = offset + tokens + 3, g = heads / kvHeads;
        float[] q = Values(heads * tokens * headDim, random), keys = Values(kvHeads * capacity * headDim, random), values = Values(kvHeads * capacity * headDim, random);
        foreach (int threads in new[] { 1, 2 })
        {
            var output = Enumerable.Repeat(float.NaN, heads * tokens * headDim).ToArray();
            PrefillAttention.Apply(q, keys, values, heads, kvHeads, headDim, capacity, tokens, offset, window, output, threads);
            for (int t = 0; t < tokens; t++)
                for (int h = 0; h < heads; h++)
                {
                    int kh = h / g, position = offset + t, first = window > 0 ? Math.Max(0, position - window + 1) : 0;
                    var scores = new double[position + 1 - first];
                    for (int k = first; k <= position; k++)
                    {
                        double dot = 0;
                        for (int c = 0; c < headDim; c++) dot += (double)q[(h * tokens + t) * headDim + c] * keys[(kh * capacity + k) * headDim + c];
                        scores[k - first] = dot / Math.Sqrt(headDim);
                    }
                    double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
                    for (int c = 0; c < headDim; c++)
                    {
                        double expected = 0;
                        for (int k = first; k <= position; k++) expected += Math.Exp(scores[k - first] - max) / sum * values[(kh * capacity + k) * headDim + c];
                        float actual = output[(t * heads + h) * headDim + c];
                        Assert.True(Math.Abs(actual - expected) <= 2e-5, $"token {t} head {h} column {c}: {actual} against {expected}");
                    }
                }
        }
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        var q = new float[2 * 3 * 32];
        var kv = new float[1 * 8 * 32];
        var output = new float[q.Length];
        Assert.Contains("multiple of 32", Assert.Throws<ArgumentException>(() => PrefillAttention.Apply(q, kv, kv, 2, 1, 48, 8, 3, 0, 0, output, 1)).Message);
        Assert.Contains("capacity", Assert.Throws<ArgumentException>(() => PrefillAttention.Apply(q, kv, kv, 2, 1, 32, 8, 3, 6, 0, output, 1)).Message);
        Assert.Contains("q holds", Assert.Throws<ArgumentException>(() => PrefillAttention.Apply(q.AsSpan(1), kv, kv, 2, 1, 32, 8, 3, 0, 0, output, 1)).Message);
        Assert.Contains("output holds", Assert.Throws<ArgumentException>(() => PrefillAttention.Apply(q, kv, kv, 2, 1, 32, 8, 3, 0, 0, output.AsSpan(1), 1)).Message);
        Assert.Contains("multiple of kvHeads", Assert.Throws<ArgumentException>(() => PrefillAttention.Apply(q, kv, kv, 3, 2, 32, 8, 2, 0, 0, new float[3 * 2 * 32], 1)).Message);
    }

    private static float[] Values(int count, Random random) => Enumerable.Range(0, count).Select(_ => random.NextSingle() * 2 - 1).ToArray();
}
