using static TorchSharp.torch;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// The small transformer's input: the last <c>window</c> tokens of each prompt, right-aligned and left-padded with
/// id = vocab, their absolute positions, and two length features (length / context, ln(length) / ln(context)).
/// </summary>
internal static class PromptWindow
{
    /// <summary>Builds ids <c>[N, W]</c> (int64), positions <c>[N, W]</c> (int64) and length features <c>[N, 2]</c>.</summary>
    public static (Tensor Ids, Tensor Positions, Tensor LengthFeatures) Build(IReadOnlyList<int[]> prompts, int window, int vocab, int maxPositions)
    {
        int n = prompts.Count;
        var ids = new long[n * window];
        var pos = new long[n * window];
        var len = new float[n * 2];
        for (int i = 0; i < n; i++)
        {
            var p = prompts[i];
            int take = Math.Min(window, p.Length), offset = window - take;
            for (int j = 0; j < offset; j++) ids[i * window + j] = vocab;
            for (int j = 0; j < take; j++)
            {
                int source = p.Length - take + j;
                ids[i * window + offset + j] = p[source];
                pos[i * window + offset + j] = Math.Min(source, maxPositions - 1);
            }
            len[i * 2] = (float)p.Length / maxPositions;
            len[i * 2 + 1] = (float)(Math.Log(p.Length) / Math.Log(maxPositions));
        }
        return (tensor(ids, [n, window]), tensor(pos, [n, window]), tensor(len, [n, 2]));
    }
}
