using BenchmarkDotNet.Attributes;
using TimeBill.Benchmarks.Model;
using TimeBill.Core.Constraints;
using TimeBill.Core.Tokenization;

namespace TimeBill.Benchmarks.Constraints;

/// <summary>
/// What a JSON Schema constraint costs per decode step on Qwen3's vocabulary (151,669 tokenizer ids, 151,936 logits,
/// tokenizer from ../shared/models/tiny-random-qwen3). <see cref="MaskOneStep"/>: the warm path of every step, the
/// processor's mask for a state whose allowed tokens are cached (copy the allowed logits aside, fill −∞, put them back),
/// in a state <see cref="Where"/>: after <c>{</c> (a handful of tokens allowed), inside a free string (nearly all), in an
/// integer. <see cref="LiftToVocabulary"/>: the cold path, lifting the whole schema to the vocabulary (one trie walk per
/// reachable state, then the minimum-tokens search); divide by the reachable states the setup prints for the cost of one
/// state's cold mask. The vocabulary's trie is built once in the setup (once per tokenizer in use). The target:
/// the warm mask within 10 % of a SmolLM2-135M decode step (<c>DecodePathBenchmarks</c>).
/// </summary>
[MemoryDiagnoser]
public class ConstraintMaskBenchmarks
{
    private const int Logits = 151_936;
    private const string Schema = """
        {"type":"object","properties":{
          "command":{"enum":["move","stop","turn"]},
          "speed":{"type":"integer","minimum":0,"maximum":200},
          "note":{"type":"string"},
          "targets":{"type":"array","items":{"type":"number","minimum":-10,"maximum":10},"maxItems":4}},
         "required":["command","speed"]}
        """;

    private OutputConstraint _constraint = null!;
    private TokenVocabulary _vocabulary = null!;
    private ConstrainedDecoding _processor = null!;
    private int[] _generated = [];
    private readonly float[] _logits = new float[Logits];

    /// <summary>The state the warm mask is taken in.</summary>
    [Params("after {", "in a string", "in an integer")]
    public string Where { get; set; } = "after {";

    /// <summary>Loads the tokenizer, builds the trie and the lifted constraint, and moves the processor to <see cref="Where"/>.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var tokenizer = TextTokenizer.Load(Path.Combine(ModelBenchmarkSubjects.FindShared(), "models", "tiny-random-qwen3"));
        _vocabulary = TokenVocabulary.For(tokenizer);
        _constraint = OutputConstraint.JsonSchema(Schema);
        var lifted = _constraint.For(_vocabulary);
        Console.WriteLine($"// {lifted.ReachableStates} reachable states, at most {lifted.MaxAllowedTokens} tokens allowed in one, longest closing {lifted.MaxClosingTokens} tokens");
        string prefix = Where switch
        {
            "after {" => "{",
            "in a string" => """{"command":"stop","speed":3,"note":"slow""",
            _ => """{"command":"move","speed":1""",
        };
        _generated = tokenizer.Encode(prefix);
        _processor = new ConstrainedDecoding(lifted, [tokenizer.EosTokenId!.Value]);
        _processor.Reset([]);
        foreach (int id in _generated) _processor.Advance(id);
        var random = new Random(1);
        for (int i = 0; i < _logits.Length; i++) _logits[i] = (float)random.NextDouble();
    }

    /// <summary>One step's mask in the cached state.</summary>
    [Benchmark(Baseline = true)]
    public float MaskOneStep()
    {
        _processor.Process(_logits, _generated);
        return _logits[0];
    }

    /// <summary>The whole schema lifted to the vocabulary from nothing but the trie.</summary>
    [Benchmark]
    public int LiftToVocabulary() => new TokenLevelAutomaton(_constraint.Automaton, _vocabulary).ReachableStates;
}
