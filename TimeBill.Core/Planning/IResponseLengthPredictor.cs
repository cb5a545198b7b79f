namespace TimeBill.Core.Planning;

/// <summary>
/// Predicts how many tokens the target model will generate for a prompt (N̂), before decoding starts. The
/// planner takes <see cref="ResponseLengthPrediction.Length"/> for its worst case k·N̂, or picks its own
/// quantile from the bucket distribution.
/// </summary>
public interface IResponseLengthPredictor
{
    /// <summary>Identity of the target model whose responses this predictor learned (<c>CausalLanguageModel.Identity</c>).</summary>
    string ModelIdentity { get; }

    /// <summary>The buckets of the predicted distribution.</summary>
    LengthBuckets Buckets { get; }

    /// <summary>Predicts the response length for <paramref name="promptIds"/> (BOS included, as the model sees them).</summary>
    ResponseLengthPrediction Predict(IReadOnlyList<int> promptIds);
}
