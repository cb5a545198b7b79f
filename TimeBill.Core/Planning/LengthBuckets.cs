namespace TimeBill.Core.Planning;

/// <summary>
/// Response lengths 0..<see cref="MaxLength"/> cut into buckets of <see cref="Width"/> tokens: bucket i holds
/// lengths [i·B, (i+1)·B − 1]; the last bucket also holds <see cref="MaxLength"/> itself. The paper's B = 16 over a
/// 8,192-token limit gives 512 buckets; over stories260K's 512-token context B = 4, 8, 16 give 128, 64, 32.
/// </summary>
public sealed record LengthBuckets
{
    /// <summary>Creates buckets of <paramref name="width"/> tokens covering lengths 0..<paramref name="maxLength"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Width or maximum not positive.</exception>
    public LengthBuckets(int width, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        Width = width;
        MaxLength = maxLength;
        Count = (maxLength + width - 1) / width;
    }

    /// <summary>Buckets of equal width such that there are <paramref name="count"/> of them up to <paramref name="maxLength"/>.</summary>
    public static LengthBuckets WithCount(int count, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return new LengthBuckets((maxLength + count - 1) / count, maxLength);
    }

    /// <summary>Tokens per bucket (B).</summary>
    public int Width { get; }
    /// <summary>Longest response represented.</summary>
    public int MaxLength { get; }
    /// <summary>Number of buckets, ⌈MaxLength / B⌉.</summary>
    public int Count { get; }

    /// <summary>The bucket of a response length; lengths beyond the maximum go to the last bucket.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative length.</exception>
    public int BucketOf(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return Math.Min(length / Width, Count - 1);
    }

    /// <summary>Shortest length in <paramref name="bucket"/>.</summary>
    public int LowerEdge(int bucket) => CheckBucket(bucket) * Width;

    /// <summary>Longest length in <paramref name="bucket"/> (the paper's point prediction); <see cref="MaxLength"/> for the last bucket.</summary>
    public int UpperEdge(int bucket) => CheckBucket(bucket) == Count - 1 ? MaxLength : (bucket + 1) * Width - 1;

    private int CheckBucket(int bucket)
    {
        if ((uint)bucket >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(bucket), bucket, $"bucket must lie in 0..{Count - 1}.");
        return bucket;
    }
}
