namespace TimeBill.Kernels.Tuning;

/// <summary>How shapes are grouped in the tuning table: one winning variant per kernel and class.</summary>
internal static class ShapeClasses
{
    /// <summary>The class of kernels whose best variant does not depend on the shape.</summary>
    public const string Any = "any";

    /// <summary>
    /// The class of a [rows, cols] matrix of <paramref name="bytesPerWeight"/>-byte elements: <c>small</c> up to
    /// 256 KiB (cache resident), <c>medium</c> up to 8 MiB, <c>large</c> above (streams from memory).
    /// </summary>
    public static string MatVec(int rows, int cols, int bytesPerWeight)
    {
        long bytes = (long)rows * cols * bytesPerWeight;
        return bytes <= 256 << 10 ? "small" : bytes <= 8 << 20 ? "medium" : "large";
    }
}
