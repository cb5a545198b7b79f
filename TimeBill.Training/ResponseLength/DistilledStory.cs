namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// One sampled sequence and the prompts cut from it: one line of the dataset file. Because sampling is
/// autoregressive, the remainder of the sequence after any prefix is itself a sample of the model's response
/// to that prefix under the same settings, so each prefix is an exact (prompt, response length) record.
/// </summary>
/// <param name="Story">Index of the story (the unit of train/validation/test splitting).</param>
/// <param name="Ids">The whole sequence, BOS first, stop token excluded.</param>
/// <param name="HitLengthCap">True when the sequence filled the context instead of ending with a stop token.</param>
/// <param name="Prefixes">Prompt lengths (tokens, BOS included) cut from this story.</param>
internal sealed record DistilledStory(long Story, int[] Ids, bool HitLengthCap, int[] Prefixes)
{
    /// <summary>The records this story yields, one per prefix.</summary>
    public IEnumerable<LengthRecord> Records() =>
        Prefixes.Select(p => new LengthRecord(Story, Ids[..p], Ids.Length - p, HitLengthCap));
}
