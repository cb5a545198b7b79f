using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TimeBill.Core.Model;

/// <summary>
/// The attention probabilities a fresh prefill computed for its last queries, handed to observers that asked for them
/// (<see cref="IForwardObserver.PrefillAttentionQueries"/>) so that statistics such as SnapKV's observation window
/// reuse the prefill's own work instead of recomputing it. Valid only during
/// <see cref="IForwardObserver.OnPrefillAttention"/>: its tensors belong to the forward pass.
/// </summary>
public sealed class PrefillAttention
{
    private readonly List<(Tensor Probabilities, int Start)> _blocks = [];

    internal PrefillAttention(int queryCount, int retainedQueries)
    {
        QueryCount = queryCount;
        RetainedQueries = Math.Min(retainedQueries, queryCount);
    }

    /// <summary>Queries (and keys) of the prefill.</summary>
    public int QueryCount { get; }

    /// <summary>How many of the last queries' probabilities are available.</summary>
    public int RetainedQueries { get; }

    /// <summary>First query of the retained range.</summary>
    internal int FirstRetained => QueryCount - RetainedQueries;

    /// <summary>Keeps a block's probabilities <c>[kvHeads, group, size, end]</c> of queries <c>start..start+size−1</c> over keys <c>0..end−1</c>.</summary>
    internal void Add(Tensor probabilities, int start) => _blocks.Add((probabilities, start));

    /// <summary>
    /// Attention probabilities of the last <paramref name="queries"/> queries, summed over those queries and over the
    /// query heads of each KV head's group: <c>[kvHeads, QueryCount]</c> (keys a query could not see count zero).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="queries"/> outside 1..<see cref="RetainedQueries"/>.</exception>
    public Tensor SummedOverLastQueries(int queries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queries, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(queries, RetainedQueries);
        int first = QueryCount - queries;
        Tensor? sum = null;
        foreach (var (probabilities, start) in _blocks)
        {
            int size = (int)probabilities.shape[2], end = (int)probabilities.shape[3];
            if (start + size <= first) continue;
            int skip = Math.Max(0, first - start);
            var part = probabilities.narrow(2, skip, size - skip).sum([1L, 2L]); // [kvHeads, end]
            if (end < QueryCount) part = F.pad(part, [0, QueryCount - end]);
            sum = sum is null ? part : sum + part;
        }
        return sum ?? throw new InvalidOperationException("no prefill attention was retained.");
    }
}
