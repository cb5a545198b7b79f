using LLama;
using LLama.Common;
using LLama.Native;

namespace TimeBill.Tests.Gguf;

/// <summary>
/// llama.cpp (through LLamaSharp) as the independent reference for GGUF files: float32 KV cache and no flash
/// attention, so the only differences left are llama.cpp's own arithmetic (activations rounded to the weights' dot
/// type: F16, BF16 or 8-bit blocks).
/// </summary>
public static class LlamaCppReference
{
    private static readonly Lock Gate = new();
    private static bool _configured;

    /// <summary>Logits [positions][vocab] of every position of <paramref name="tokens"/>.</summary>
    public static float[][] Logits(string file, IReadOnlyList<int> tokens)
    {
        using var session = Open(file, tokens.Count + 1);
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Count; i++) batch.Add((LLamaToken)tokens[i], i, LLamaSeqId.Zero, logits: true);
        session.Context.Decode(batch);
        return Enumerable.Range(0, tokens.Count).Select(i => session.Context.NativeHandle.GetLogitsIth(i).ToArray()).ToArray();
    }

    /// <summary>The greedy continuation of <paramref name="prompt"/>, <paramref name="count"/> tokens, stopping at none.</summary>
    public static int[] Greedy(string file, IReadOnlyList<int> prompt, int count)
    {
        using var session = Open(file, prompt.Count + count + 1);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Count; i++) batch.Add((LLamaToken)prompt[i], i, LLamaSeqId.Zero, logits: i == prompt.Count - 1);
        session.Context.Decode(batch);
        var result = new int[count];
        for (int step = 0; step < count; step++)
        {
            var logits = session.Context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int best = 0;
            for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[best]) best = v;
            result[step] = best;
            batch.Clear();
            batch.Add((LLamaToken)best, prompt.Count + step, LLamaSeqId.Zero, logits: true);
            session.Context.Decode(batch);
        }
        return result;
    }

    /// <summary>llama.cpp's own tokenization of <paramref name="text"/> (with BOS when the file asks for it).</summary>
    public static int[] Tokenize(string file, string text)
    {
        using var session = Open(file, 64);
        return session.Context.Tokenize(text, addBos: true, special: true).Select(t => (int)t).ToArray();
    }

    private sealed class Session(LLamaWeights weights, LLamaContext context) : IDisposable
    {
        public LLamaContext Context { get; } = context;

        public void Dispose()
        {
            Context.Dispose();
            weights.Dispose();
        }
    }

    private static Session Open(string file, int context)
    {
        lock (Gate)
        {
            if (!_configured)
            {
                NativeLibraryConfig.All.WithLogCallback((level, message) => { if (level >= LLamaLogLevel.Error) Console.Error.Write(message); });
                _configured = true;
            }
        }
        var parameters = new ModelParams(file)
        {
            ContextSize = (uint)Math.Max(context, 32),
            BatchSize = (uint)Math.Max(context, 32),
            UBatchSize = (uint)Math.Max(context, 32),
            GpuLayerCount = 0,
            Threads = 2,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false,
        };
        var weights = LLamaWeights.LoadFromFile(parameters);
        return new Session(weights, weights.CreateContext(parameters));
    }
}
