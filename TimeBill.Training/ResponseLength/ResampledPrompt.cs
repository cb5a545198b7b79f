namespace TimeBill.Predictors.ResponseLength;

/// <summary>Fresh response lengths for one test prompt: what the irreducible error is measured from.</summary>
/// <param name="Story">The prompt's story.</param>
/// <param name="Prefix">The prompt's length (it is the story's first <paramref name="Prefix"/> tokens).</param>
/// <param name="Lengths">Response lengths of independent samples.</param>
/// <param name="HitLengthCaps">How many of them were cut by the context.</param>
internal sealed record ResampledPrompt(long Story, int Prefix, int[] Lengths, int HitLengthCaps)
{
    /// <summary>The median of <see cref="Lengths"/> (mean of the two middle values for an even count): the oracle's prediction.</summary>
    public double Median
    {
        get
        {
            var s = Lengths.Order().ToArray();
            return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2.0;
        }
    }
}
