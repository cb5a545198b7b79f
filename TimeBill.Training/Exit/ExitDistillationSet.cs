using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;
using TimeBill.Core.Tokenization;
using static TorchSharp.torch;

namespace TimeBill.Predictors.Exit;

/// <summary>
/// Distillation data for exit heads: for every token of some sequences, the full model's hidden state after each
/// layer and its next-token log-probabilities (the teacher), from one full-depth forward pass per sequence.
/// Owns its tensors.
/// </summary>
internal sealed class ExitDistillationSet : IDisposable
{
    private ExitDistillationSet(Tensor[] hidden, Tensor teacherLogProbs, float[] previousConfidence, int sequences)
    {
        Hidden = hidden;
        TeacherLogProbs = teacherLogProbs;
        PreviousConfidence = previousConfidence;
        Sequences = sequences;
    }

    /// <summary>Hidden states after each layer, <c>[N, hidden]</c> per layer (bottom first).</summary>
    public IReadOnlyList<Tensor> Hidden { get; }
    /// <summary>The full model's next-token log-probabilities <c>[N, vocab]</c>.</summary>
    public Tensor TeacherLogProbs { get; }
    /// <summary>Per token, the top-1 probability of the full model's logits at the previous position (0 for the first).</summary>
    public IReadOnlyList<float> PreviousConfidence { get; }
    /// <summary>Number of token positions.</summary>
    public int Count => (int)TeacherLogProbs.shape[0];
    /// <summary>Number of sequences the tokens came from.</summary>
    public int Sequences { get; }

    /// <summary>
    /// Lets the model write its own training text: <paramref name="samplesPerPrompt"/> stories per prompt sampled at
    /// temperature 1 with top-p 0.9, seeded from <paramref name="seed"/>. Returns prompt + response ids per story.
    /// </summary>
    public static List<int[]> SampleStories(CausalLanguageModel model, TextTokenizer tokenizer, IReadOnlyList<string> prompts,
        int samplesPerPrompt, int maxNewTokens, int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompts);
        using var generator = new TextGenerator(model, tokenizer);
        var stories = new List<int[]>();
        int index = 0;
        foreach (string prompt in prompts)
            for (int s = 0; s < samplesPerPrompt; s++)
            {
                var options = new GenerationOptions
                {
                    MaxNewTokens = maxNewTokens,
                    Sampling = new SamplingOptions { Temperature = 1f, TopP = 0.9f, Seed = seed + index++ },
                };
                var result = generator.Generate(tokenizer.EncodePrompt(prompt), options);
                stories.Add([.. result.PromptIds, .. result.Ids]);
            }
        return stories;
    }

    /// <summary>Runs every sequence through the full model once and keeps its hidden states and teacher distribution.</summary>
    /// <exception cref="ArgumentException">No sequences, or an empty one.</exception>
    public static ExitDistillationSet FromSequences(CausalLanguageModel model, IReadOnlyList<int[]> sequences)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0) throw new ArgumentException("no sequences to distil from.", nameof(sequences));
        int layers = model.Config.LayerCount;
        var hidden = Enumerable.Range(0, layers).Select(_ => new List<Tensor>()).ToArray();
        var teacher = new List<Tensor>();
        var previous = new List<float>();
        using var noGrad = no_grad();
        foreach (var sequence in sequences)
        {
            if (sequence.Length == 0) throw new ArgumentException("an empty sequence.", nameof(sequences));
            using var cache = model.CreateCache(sequence.Length);
            var observer = new HiddenCollector(hidden);
            using var logits = model.Forward(sequence, cache, allLogits: true, observer);
            var logProbs = logits.log_softmax(-1);
            teacher.Add(logProbs.DetachFromDisposeScope());
            var top = logProbs.max(-1).values.exp().data<float>().ToArray();
            previous.Add(0f);
            for (int t = 1; t < sequence.Length; t++) previous.Add(top[t - 1]);
        }
        var stacked = hidden.Select(list => Concat(list)).ToArray();
        return new ExitDistillationSet(stacked, Concat(teacher), previous.ToArray(), sequences.Count);
    }

    private static Tensor Concat(List<Tensor> parts)
    {
        var result = cat(parts).DetachFromDisposeScope();
        foreach (var part in parts) part.Dispose();
        return result;
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var t in Hidden) t.Dispose();
        TeacherLogProbs.Dispose();
    }

    private sealed class HiddenCollector(List<Tensor>[] hidden) : IForwardObserver
    {
        public void OnHiddenState(int layer, Tensor state) => hidden[layer].Add(state.clone().DetachFromDisposeScope());
    }
}
