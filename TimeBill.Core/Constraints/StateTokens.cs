namespace TimeBill.Core.Constraints;

/// <summary>
/// The tokens allowed in one automaton state and the state each leads to, ordered by how many tokens the answer then
/// still needs at least (then by id), so the tokens that can finish within k more tokens are a prefix.
/// </summary>
internal sealed class StateTokens(int[] ids, int[] targets, int[] distances)
{
    /// <summary>Allowed token ids.</summary>
    public int[] Ids { get; } = ids;
    /// <summary>The state after each.</summary>
    public int[] Targets { get; } = targets;
    /// <summary>The minimum tokens to acceptance after each (ascending).</summary>
    public int[] Distances { get; } = distances;

    /// <summary>How many of the tokens leave an answer that can be completed in at most <paramref name="maxDistance"/> more tokens.</summary>
    public int CountWithin(int maxDistance)
    {
        if (maxDistance < 0) return 0;
        if (Distances.Length == 0 || Distances[^1] <= maxDistance) return Distances.Length;
        int lo = 0, hi = Distances.Length; // first index with distance > maxDistance
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Distances[mid] <= maxDistance) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
