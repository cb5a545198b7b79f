using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>The self-probe RLP's head: a two-hidden-layer GELU MLP from standardised hidden-state features to bucket logits.</summary>
internal sealed class ProbeMlpNet : nn.Module<Tensor, Tensor>
{
    private readonly Linear input;
    private readonly Linear hidden;
    private readonly Linear output;
    private readonly Dropout dropout;

    /// <summary>Creates the head.</summary>
    public ProbeMlpNet(int features, int width, int outputs, double dropoutRate = 0.1) : base(nameof(ProbeMlpNet))
    {
        input = nn.Linear(features, width);
        hidden = nn.Linear(width, width);
        output = nn.Linear(width, outputs);
        dropout = nn.Dropout(dropoutRate);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = dropout.forward(F.gelu(input.forward(x)));
        x = dropout.forward(F.gelu(hidden.forward(x)));
        return output.forward(x).MoveToOuterDisposeScope();
    }
}
