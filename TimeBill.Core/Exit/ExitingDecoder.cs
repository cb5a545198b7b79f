using TimeBill.Core.Cache;
using TimeBill.Core.Decoding;
using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Core.Exit;

/// <summary>One decoded token of an <see cref="ExitingDecoder"/> (its logits are in the buffer the step was given).</summary>
/// <param name="LayersRun">Decoder layers that ran in full for this token (1..LayerCount).</param>
/// <param name="HeadsEvaluated">Exit heads evaluated for this token.</param>
/// <param name="Confidence">Top-1 probability of the logits (NaN when no exit heads are in use: nothing reads it).</param>
internal readonly record struct ExitStep(int LayersRun, int HeadsEvaluated, float Confidence);

/// <summary>
/// Decodes one sequence token by token with early exit. A token that exits after layer ℓ skips layers ℓ+1.. but
/// still leaves K/V entries in them, computed from its exited hidden state (CALM-style state propagation), so every
/// layer's cache stays complete and positions keep continuing. Prefill always runs the full depth.
/// <para>
/// Classic: after every layer with an exit head, the head is evaluated and the first head whose top-1 probability
/// reaches τ exits. Predictive: after <see cref="IExitModel.PredictorLayer"/> the predictor names one head; only that
/// head is evaluated once its layer has run; if it is not confident the <see cref="ExitFallback"/> rule applies
/// (default: run to the full depth without evaluating more heads). A threshold of +∞ never exits and reproduces
/// full-depth logits exactly.
/// </para>
/// </summary>
internal sealed class ExitingDecoder
{
    private readonly KernelDecoder _decoder;
    private readonly int _layerCount;
    private readonly IExitModel? _exits;
    private readonly ExitStrategy _strategy;
    private readonly ExitFallback _fallback;
    private readonly bool[] _hasHead;
    private float _previousConfidence;

    /// <summary>Creates a decoder for one sequence of <paramref name="model"/>, whose steps run on <paramref name="decoder"/>.</summary>
    /// <exception cref="ArgumentException">An active policy without exit heads, or heads trained for another model.</exception>
    public ExitingDecoder(CausalLanguageModel model, KernelDecoder decoder, IExitModel? exits, ExitPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        _decoder = decoder;
        _layerCount = model.Config.LayerCount;
        _strategy = policy.Strategy;
        _fallback = policy.Fallback;
        _hasHead = new bool[model.Config.LayerCount];
        if (policy.IsOff)
        {
            Threshold = double.PositiveInfinity;
            return;
        }
        if (exits is null) throw new ArgumentException("an exit policy needs trained exit heads (an IExitModel); none was given.", nameof(exits));
        if (!model.IsIdentifiedBy(exits.ModelIdentity))
            throw new ArgumentException($"the exit heads were trained for model '{exits.ModelIdentity}', not '{model.Identity}'.", nameof(exits));
        _exits = exits;
        foreach (int layer in exits.ExitLayers)
        {
            if (layer < 0 || layer >= model.Config.LayerCount - 1)
                throw new ArgumentException($"exit layer {layer} is outside 0..{model.Config.LayerCount - 2}.", nameof(exits));
            _hasHead[layer] = true;
        }
        Threshold = exits.Calibration.ResolveThreshold(policy);
    }

    /// <summary>The resolved exit threshold τ (+∞ when off).</summary>
    public double Threshold { get; }

    /// <summary>Tokens decoded with <see cref="Step"/>.</summary>
    public int Tokens { get; private set; }
    /// <summary>Total layers run in full by <see cref="Step"/>.</summary>
    public long LayersRun { get; private set; }
    /// <summary>Total exit heads evaluated by <see cref="Step"/>.</summary>
    public long HeadsEvaluated { get; private set; }

    /// <summary>Average layers run per decoded token (the full depth before any token).</summary>
    public double AverageLayersPerToken => Tokens == 0 ? _layerCount : (double)LayersRun / Tokens;

    /// <summary>Average exit heads evaluated per decoded token.</summary>
    public double AverageHeadsPerToken => Tokens == 0 ? 0 : (double)HeadsEvaluated / Tokens;

    /// <summary>Starts the sequence after its prefill (full depth), whose last logits are <paramref name="prefillLogits"/>.</summary>
    public void Begin(ReadOnlySpan<float> prefillLogits)
    {
        Tokens = 0;
        LayersRun = HeadsEvaluated = 0;
        _previousConfidence = _exits is null ? float.NaN : TopProbability(prefillLogits);
    }

    /// <summary>
    /// Decodes one token at <c>cache.NextPosition</c> on the kernels, possibly exiting early, writes its next-token
    /// logits into <paramref name="logits"/> and advances the cache. Without exit heads this is a full-depth
    /// <see cref="KernelDecoder.Step(int, KvCache, Span{float})"/> and allocates nothing.
    /// </summary>
    public ExitStep Step(int token, KvCache cache, Span<float> logits)
    {
        if (_exits is null)
        {
            _decoder.Step(token, cache, logits);
            return Record(new ExitStep(_layerCount, 0, float.NaN));
        }
        var decision = new TokenExit(this);
        int run = _decoder.Step(token, cache, logits, decision.AfterLayer);
        float confidence = run < _layerCount ? decision.Confidence : TopProbability(logits);
        return Record(new ExitStep(run, decision.Heads, confidence));
    }

    /// <summary>
    /// One token's exit decision, layer by layer, asked by the kernel decoder after each layer. Classic: every head is
    /// evaluated until one is confident. Predictive: after <see cref="IExitModel.PredictorLayer"/> the predictor names
    /// one head, which alone is evaluated; an unconfident head applies the <see cref="ExitFallback"/>.
    /// </summary>
    private sealed class TokenExit(ExitingDecoder owner)
    {
        private int _predicted = -2; // −2: not predicted yet; −1: predicted full depth.
        private bool _evaluateAll = owner._strategy == ExitStrategy.Classic;

        /// <summary>Exit heads evaluated so far.</summary>
        public int Heads { get; private set; }

        /// <summary>Top-1 probability of the exit logits, once the token exited.</summary>
        public float Confidence { get; private set; }

        /// <summary>
        /// After <paramref name="layer"/> (below the last): true when the token exits here, with the exit head's logits
        /// written to <paramref name="logits"/>.
        /// </summary>
        public bool AfterLayer(int layer, ReadOnlySpan<float> hidden, Span<float> logits)
        {
            var exits = owner._exits!;
            if (!_evaluateAll && _predicted == -2 && layer >= exits.PredictorLayer)
            {
                _predicted = exits.PredictExitLayer(hidden, owner._previousConfidence, owner.Threshold);
                if (_predicted >= 0 && _predicted < layer) _predicted = layer;
            }
            if (!owner._hasHead[layer] || !(_evaluateAll || _predicted == layer)) return false;

            Heads++;
            using (var scope = NewDisposeScope())
            {
                var input = TorchSharp.torch.tensor(hidden.ToArray(), [1, hidden.Length]);
                exits.ExitLogits(layer, input).data<float>().CopyTo(logits);
            }
            float confidence = TopProbability(logits);
            if (confidence >= owner.Threshold)
            {
                Confidence = confidence;
                return true;
            }
            if (!_evaluateAll && owner._fallback == ExitFallback.NextHead) _evaluateAll = true;
            return false;
        }
    }

    private ExitStep Record(ExitStep step)
    {
        Tokens++;
        LayersRun += step.LayersRun;
        HeadsEvaluated += step.HeadsEvaluated;
        _previousConfidence = step.Confidence;
        return step;
    }

    /// <summary>The largest softmax probability of one row of logits.</summary>
    public static float TopProbability(ReadOnlySpan<float> logits)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits) max = Math.Max(max, l);
        double sum = 0;
        foreach (float l in logits) sum += Math.Exp(l - max);
        return (float)(1.0 / sum);
    }
}
