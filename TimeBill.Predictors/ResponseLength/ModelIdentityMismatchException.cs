namespace TimeBill.Predictors.ResponseLength;

/// <summary>A predictor file was trained on another model's responses than the one it is being used with.</summary>
public sealed class ModelIdentityMismatchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelIdentityMismatchException(string path, string recorded, string expected)
        : base($"{path} predicts response lengths of model '{recorded}', not of '{expected}': re-run distill and training for this model.")
    {
        Recorded = recorded;
        Expected = expected;
    }

    /// <summary>The identity stored in the file.</summary>
    public string Recorded { get; }
    /// <summary>The identity of the model in use.</summary>
    public string Expected { get; }
}
