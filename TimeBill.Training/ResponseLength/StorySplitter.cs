namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// Assigns whole stories to train/validation/test with a seeded hash of the story index, so all prompts of a
/// story land in the same split (prefixes of one story share text and a response tail: splitting by prompt would
/// leak) and a story's split never changes as the dataset grows or is resumed.
/// </summary>
/// <param name="ValidationShare">Share of stories in validation.</param>
/// <param name="TestShare">Share of stories in test.</param>
/// <param name="Seed">Seed of the hash.</param>
internal sealed record StorySplitter(double ValidationShare = 0.15, double TestShare = 0.15, int Seed = 7)
{
    /// <summary>The split of <paramref name="story"/>.</summary>
    /// <exception cref="ArgumentException">Shares negative or summing to 1 or more.</exception>
    public DatasetSplit SplitOf(long story)
    {
        if (ValidationShare < 0 || TestShare < 0 || ValidationShare + TestShare >= 1)
            throw new ArgumentException("validation and test shares must be ≥ 0 and leave room for training.");
        double u = DistillationSettings.DeriveSeed(Seed, story, 0x5011) / (double)int.MaxValue;
        return u < TestShare ? DatasetSplit.Test : u < TestShare + ValidationShare ? DatasetSplit.Validation : DatasetSplit.Train;
    }

    /// <summary>The records of <paramref name="split"/>.</summary>
    public IReadOnlyList<LengthRecord> Select(IEnumerable<LengthRecord> records, DatasetSplit split) =>
        records.Where(r => SplitOf(r.Story) == split).ToList();
}
