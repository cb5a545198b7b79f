namespace TimeBill.Core.Budget;

/// <summary>
/// The last <see cref="Window"/> values of a measure, kept sorted as well as in arrival order, so the mean and the
/// 99th percentile are read in O(1) and an update costs O(window) without allocating. Not thread-safe.
/// </summary>
internal sealed class RecentValues
{
    /// <summary>How many recent values are kept.</summary>
    public const int Window = 256;

    private readonly double[] _recent = new double[Window], _sorted = new double[Window];
    private int _next;
    private double _sum;

    /// <summary>Values held (at most <see cref="Window"/>).</summary>
    public int Count { get; private set; }

    /// <summary>Adds <paramref name="value"/>, forgetting the oldest once the window is full.</summary>
    public void Add(double value)
    {
        if (Count == Window)
        {
            double oldest = _recent[_next];
            _sum -= oldest;
            int at = Array.BinarySearch(_sorted, 0, Count, oldest);
            Array.Copy(_sorted, at + 1, _sorted, at, Count - at - 1);
            Count--;
        }
        _recent[_next] = value;
        _next = (_next + 1) % Window;
        _sum += value;
        int insert = Array.BinarySearch(_sorted, 0, Count, value);
        if (insert < 0) insert = ~insert;
        Array.Copy(_sorted, insert, _sorted, insert + 1, Count - insert);
        _sorted[insert] = value;
        Count++;
    }

    /// <summary>The mean of the values held (0 when none).</summary>
    public double Mean => Count == 0 ? 0 : _sum / Count;

    /// <summary>The 99th percentile of the values held, by rank (0 when none).</summary>
    public double P99 => Count == 0 ? 0 : _sorted[Math.Min(Count - 1, (int)Math.Ceiling(0.99 * Count) - 1)];
}
