using TimeBill.Templates.Evaluation;

namespace TimeBill.Templates.Values;

/// <summary><c>[start:stop:step]</c> with absent parts null, resolved against a length as Python's <c>slice.indices</c> does.</summary>
internal sealed record SliceValue(long? Start, long? Stop, long? Step)
{
    public IEnumerable<int> Indices(int length)
    {
        long step = Step ?? 1;
        if (step == 0) throw new RenderError("slice step cannot be zero");
        long lower = step > 0 ? 0 : -1, upper = step > 0 ? length : length - 1;
        long start = Resolve(Start, step > 0 ? lower : upper, length, lower, upper);
        long stop = Resolve(Stop, step > 0 ? upper : lower, length, lower, upper);
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) yield return (int)i;
    }

    private static long Resolve(long? bound, long absent, int length, long lower, long upper)
    {
        if (bound is not long b) return absent;
        if (b < 0) b += length;
        return Math.Clamp(b, lower, upper);
    }
}
