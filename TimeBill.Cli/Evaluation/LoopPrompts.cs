namespace TimeBill.Cli.Evaluation;

/// <summary>
/// A control loop's prompts: BOS and one fixed system prompt, then per tick a fresh observation. Both are random ids
/// from the model's vocabulary (seeded; ids 0–2, the usual special tokens, excluded), so any model or shape has them.
/// One prompt more than the jobs is built: <see cref="Primer"/> warms the cache without being one of the measured ticks.
/// </summary>
/// <param name="System">BOS followed by the system prompt.</param>
/// <param name="Prompts">One prompt per tick: <see cref="System"/> then that tick's observation.</param>
/// <param name="Primer">A prompt with the same system prompt and an observation no tick has.</param>
internal sealed record LoopPrompts(int[] System, IReadOnlyList<int[]> Prompts, int[] Primer)
{
    /// <summary>Builds <paramref name="jobs"/> ticks with observations of <paramref name="minObservation"/>–<paramref name="maxObservation"/> tokens.</summary>
    public static LoopPrompts Build(int vocabulary, int bos, int systemTokens, int minObservation, int maxObservation, int jobs, int seed)
    {
        if (vocabulary <= 3) throw new ArgumentException($"a vocabulary of {vocabulary} ids leaves none for prompts.");
        var random = new Random(seed);
        int[] Ids(int count) => Enumerable.Range(0, count).Select(_ => random.Next(3, vocabulary)).ToArray();
        int[] system = [bos, .. Ids(systemTokens)];
        int[] Tick() => [.. system, .. Ids(random.Next(minObservation, maxObservation + 1))];
        var prompts = Enumerable.Range(0, jobs).Select(_ => Tick()).ToList();
        return new LoopPrompts(system, prompts, Tick());
    }
}
