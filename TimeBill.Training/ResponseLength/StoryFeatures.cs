using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>Self-probe features for training, one prefill per story (<see cref="SelfProbeLengthPredictor.ExtractFeatures"/> runs one per prompt).</summary>
internal static class StoryFeatures
{
    /// <summary>
    /// Features of records that are prefixes of a common sequence (one story's prompts), with one prefill per story:
    /// attention is causal, so the states of a prefix's tokens inside the longest prompt equal those of the prefix alone
    /// (up to float rounding); the last-token and mean features of every prefix are read from that one pass.
    /// </summary>
    public static float[][] Extract(CausalLanguageModel model, IReadOnlyList<LengthRecord> records, int layer, Action<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (layer < 0 || layer >= model.Config.LayerCount)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"the model has layers 0..{model.Config.LayerCount - 1}.");
        var result = new float[records.Count][];
        using var cache = model.CreateCache();
        var capture = new FullHiddenCapture(layer);
        int done = 0;
        foreach (var group in Enumerable.Range(0, records.Count).GroupBy(i => records[i].Story))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var longest = group.Select(i => records[i].PromptIds).MaxBy(p => p.Length)!;
            foreach (int i in group)
                if (!records[i].PromptIds.AsSpan().SequenceEqual(longest.AsSpan(0, records[i].PromptIds.Length)))
                    throw new ArgumentException($"story {records[i].Story}: prompts are not prefixes of one sequence.");
            cache.Reset();
            using (model.Forward(longest, cache, allLogits: false, capture)) { }
            float[] states = capture.States!;
            int h = model.Config.HiddenSize;
            var prefixSum = new double[h];
            var order = group.OrderBy(i => records[i].PromptIds.Length).ToList();
            int t = 0;
            foreach (int i in order)
            {
                int p = records[i].PromptIds.Length;
                for (; t < p; t++) for (int j = 0; j < h; j++) prefixSum[j] += states[t * h + j];
                var features = new float[2 * h];
                for (int j = 0; j < h; j++) { features[j] = states[(p - 1) * h + j]; features[h + j] = (float)(prefixSum[j] / p); }
                result[i] = SelfProbeLengthPredictor.WithLength(features, p, model.Config.MaxPositions);
                progress?.Invoke(++done);
            }
        }
        return result;
    }

    private sealed class FullHiddenCapture(int layer) : IForwardObserver
    {
        public float[]? States { get; private set; }

        public void OnHiddenState(int observed, Tensor hidden)
        {
            if (observed == layer) States = hidden.data<float>().ToArray();
        }
    }
}
