namespace TimeBill.Predictors.ResponseLength;

/// <summary>Which part of the dataset a story belongs to.</summary>
internal enum DatasetSplit
{
    /// <summary>Fits the weights.</summary>
    Train,
    /// <summary>Early stopping and model choice.</summary>
    Validation,
    /// <summary>The reported numbers.</summary>
    Test,
}
