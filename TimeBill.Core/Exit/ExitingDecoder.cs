using System.Runtime.InteropServices;
using TimeBill.Core.Cache;
using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Core.Exit;

/// <summary>One decoded token of an <see cref="ExitingDecoder"/>.</summary>
/// <param name="Logits">Next-token logits (from the exit head, or the model's head at full depth).</param>
/// <param name="LayersRun">Decoder layers that ran in full for this token (1..LayerCount).</param>
/// <param name="HeadsEvaluated">Exit heads evaluated for this token.</param>
/// <param name="Confidence">Top-1 probability of <paramref name="Logits"/>.</param>
public readonly record struct ExitStep(float[] Logits, int LayersRun, int HeadsEvaluated, float Confidence);

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
public sealed class ExitingDecoder
{
    private readonly CausalLanguageModel _model;
    private readonly IExitModel? _exits;
    private readonly ExitStrategy _strategy;
    private readonly ExitFallback _fallback;
    private readonly bool[] _hasHead;
    private float _previousConfidence;

    /// <summary>Creates a decoder for one sequence.</summary>
    /// <exception cref="ArgumentException">An active policy without exit heads, or heads trained for another model.</exception>
    public ExitingDecoder(CausalLanguageModel model, IExitModel? exits, ExitPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        _model = model;
        _strategy = policy.Strategy;
        _fallback = policy.Fallback;
        _hasHead = new bool[model.Config.LayerCount];
        if (policy.IsOff)
        {
            Threshold = double.PositiveInfinity;
            return;
        }
        if (exits is null) throw new ArgumentException("an exit policy needs trained exit heads (an IExitModel); none was given.", nameof(exits));
        if (exits.ModelIdentity != model.Identity)
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
    public double AverageLayersPerToken => Tokens == 0 ? _model.Config.LayerCount : (double)LayersRun / Tokens;

    /// <summary>Average exit heads evaluated per decoded token.</summary>
    public double AverageHeadsPerToken => Tokens == 0 ? 0 : (double)HeadsEvaluated / Tokens;

    /// <summary>Runs the prompt at full depth and returns the last position's logits; <paramref name="observer"/> sees the pass (e.g. an eviction capture).</summary>
    public float[] Prefill(ReadOnlySpan<int> prompt, KvCache cache, IForwardObserver? observer = null)
    {
        var logits = _model.ForwardLast(prompt, cache, observer);
        _previousConfidence = TopProbability(logits);
        return logits;
    }

    /// <summary>
    /// Decodes one token at <c>cache.NextPosition</c>, possibly exiting early, and advances the cache. The layers run
    /// on the model's <see cref="CausalLanguageModel.ActiveDecodePath"/> (the kernel path when it is the faster); exit
    /// heads and the exit-layer predictor see the same hidden states on either path.
    /// </summary>
    public ExitStep Step(int token, KvCache cache)
    {
        int layers = _model.Config.LayerCount;
        if (_exits is null)
        {
            // No exits: a plain full-depth step on the model's active decode path (the kernel path when faster).
            float[] full = _model.ForwardLast([token], cache);
            return Record(new ExitStep(full, layers, 0, TopProbability(full)));
        }
        var decision = new TokenExit(this);
        var logits = new float[_model.Config.VocabSize];
        int run;
        if (_model.KernelPath is { } kernels)
        {
            run = kernels.Step(token, cache, logits, (layer, hidden, output) => decision.AfterLayer(layer, hidden, null, output));
        }
        else
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var hidden = _model.Embed([token], cache);
            run = 0;
            bool exited = false;
            while (run < layers && !exited)
            {
                hidden = _model.ForwardLayer(run, hidden, cache);
                exited = ++run < layers && decision.AfterLayer(run - 1, Row(hidden), hidden, logits);
            }
            _model.AppendKeyValuesFrom(run, hidden, cache);
            cache.Advance(1);
            if (!exited) _model.Head(hidden).data<float>().CopyTo(logits);
        }
        float confidence = run < layers ? decision.Confidence : TopProbability(logits);
        return Record(new ExitStep(logits, run, decision.Heads, confidence));
    }

    /// <summary>The single row of a contiguous CPU tensor <c>[1, hidden]</c>, without copying.</summary>
    private static ReadOnlySpan<float> Row(Tensor hidden) => MemoryMarshal.Cast<byte, float>(hidden.bytes);

    /// <summary>
    /// One token's exit decision, layer by layer, shared by the libtorch and kernel paths. Classic: every head is
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
        /// written to <paramref name="logits"/>. <paramref name="tensor"/> is <paramref name="hidden"/> as a tensor when
        /// the caller has one (the libtorch path); otherwise one is made only if a head is evaluated.
        /// </summary>
        public bool AfterLayer(int layer, ReadOnlySpan<float> hidden, Tensor? tensor, Span<float> logits)
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
                var input = tensor ?? TorchSharp.torch.tensor(hidden.ToArray(), [1, hidden.Length]);
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
