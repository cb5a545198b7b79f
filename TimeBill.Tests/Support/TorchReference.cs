using TimeBill.Core.Cache;
using TimeBill.Core.Decoding;
using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Tests.Support;

/// <summary>libtorch references the decode kernels are checked against, and test conveniences.</summary>
internal static class TorchReference
{
    /// <summary>
    /// One decode step of <paramref name="token"/> through only the first <paramref name="layers"/> layers on libtorch,
    /// the skipped layers' K/V projected from the exited hidden state, then the final norm and head.
    /// </summary>
    public static float[] StepLayers(CausalLanguageModel model, int token, KvCache cache, int layers)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var hidden = model.Embed([token], cache);
        for (int layer = 0; layer < layers; layer++) hidden = model.ForwardLayer(layer, hidden, cache);
        model.AppendKeyValuesFrom(layers, hidden, cache);
        cache.Advance(1);
        return model.Head(hidden).data<float>().ToArray();
    }

    /// <summary>A kernel step's logits as a new array.</summary>
    public static float[] Step(this KernelDecoder decoder, int token, KvCache cache)
    {
        var logits = new float[decoder.Config.VocabSize];
        decoder.Step(token, cache, logits);
        return logits;
    }
}
