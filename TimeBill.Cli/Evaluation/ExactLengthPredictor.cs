using TimeBill.Core.Planning;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// A length "predictor" that knows each prompt's response length exactly: the timing evaluation hands the planner
/// the length the job will run to, so what it measures is the latency model and the deadline logic, not the RLP.
/// A prompt it was not told about (the generator's warm-up) gets one token.
/// </summary>
internal sealed class ExactLengthPredictor(string modelIdentity, int maxLength) : IResponseLengthPredictor
{
    private readonly Dictionary<string, int> _lengths = [];

    public string ModelIdentity => modelIdentity;

    public LengthBuckets Buckets { get; } = new(1, maxLength);

    /// <summary>Registers the response length of <paramref name="prompt"/>.</summary>
    public void Set(IReadOnlyList<int> prompt, int length) => _lengths[Key(prompt)] = length;

    public ResponseLengthPrediction Predict(IReadOnlyList<int> promptIds) =>
        ResponseLengthPrediction.PointMass(Buckets, _lengths.TryGetValue(Key(promptIds), out int length) ? length : 1);

    private static string Key(IReadOnlyList<int> prompt) => string.Join(',', prompt);
}
