using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// The small-model RLP's network: a compact pre-norm transformer encoder over the last <c>window</c> prompt tokens
/// (token + absolute-position embeddings, padding masked), mean- and last-token pooled, concatenated with the
/// prompt-length features, then a linear head to bucket logits (or one regression output).
/// Inputs: ids <c>[N, window]</c> (padding = vocab, left side), positions <c>[N, window]</c>, length features <c>[N, 2]</c>.
/// </summary>
internal sealed class PromptTransformerNet : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Embedding tokens;
    private readonly Embedding positions;
    private readonly ModuleList<EncoderBlock> blocks;
    private readonly LayerNorm norm;
    private readonly Linear head;
    private readonly int _padId;

    /// <summary>Creates the network.</summary>
    public PromptTransformerNet(int vocab, int maxPositions, int dim, int layers, int heads, int outputs) : base(nameof(PromptTransformerNet))
    {
        _padId = vocab;
        tokens = nn.Embedding(vocab + 1, dim);
        positions = nn.Embedding(maxPositions, dim);
        blocks = new ModuleList<EncoderBlock>(Enumerable.Range(0, layers).Select(_ => new EncoderBlock(dim, heads)).ToArray());
        norm = nn.LayerNorm(dim);
        head = nn.Linear(2 * dim + 2, outputs);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor ids, Tensor pos, Tensor lengthFeatures)
    {
        using var scope = NewDisposeScope();
        var pad = ids.eq(_padId);                                   // [N, W]
        var x = tokens.forward(ids) + positions.forward(pos);
        foreach (var block in blocks) x = block.forward(x, pad);
        x = norm.forward(x);
        var keep = pad.logical_not().unsqueeze(-1).to_type(x.dtype);
        var mean = (x * keep).sum(1) / keep.sum(1).clamp_min(1);
        var last = x.select(1, x.shape[1] - 1);                     // prompts are right-aligned: the last slot is the last token
        return head.forward(cat([mean, last, lengthFeatures], 1)).MoveToOuterDisposeScope();
    }

    /// <summary>One pre-norm block: multi-head self-attention (padding masked) and a GELU MLP.</summary>
    public sealed class EncoderBlock : nn.Module<Tensor, Tensor, Tensor>
    {
        private readonly LayerNorm norm1;
        private readonly LayerNorm norm2;
        private readonly Linear qkv;
        private readonly Linear proj;
        private readonly Linear up;
        private readonly Linear down;
        private readonly int _heads;

        /// <summary>Creates a block.</summary>
        public EncoderBlock(int dim, int heads) : base(nameof(EncoderBlock))
        {
            _heads = heads;
            norm1 = nn.LayerNorm(dim);
            norm2 = nn.LayerNorm(dim);
            qkv = nn.Linear(dim, 3 * dim);
            proj = nn.Linear(dim, dim);
            up = nn.Linear(dim, 2 * dim);
            down = nn.Linear(2 * dim, dim);
            RegisterComponents();
        }

        /// <inheritdoc/>
        public override Tensor forward(Tensor x, Tensor pad)
        {
            long n = x.shape[0], w = x.shape[1], d = x.shape[2], hd = d / _heads;
            var parts = qkv.forward(norm1.forward(x)).view(n, w, 3, _heads, hd).permute(2, 0, 3, 1, 4); // [3, N, H, W, hd]
            var scores = parts[0].matmul(parts[1].transpose(-1, -2)) / Math.Sqrt(hd);                    // [N, H, W, W]
            scores = scores.masked_fill(pad.view(n, 1, 1, w), -1e9f);
            var attended = scores.softmax(-1).matmul(parts[2]).transpose(1, 2).reshape(n, w, d);
            x = x + proj.forward(attended);
            return x + down.forward(F.gelu(up.forward(norm2.forward(x))));
        }
    }
}
