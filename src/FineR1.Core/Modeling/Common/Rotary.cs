using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Common;

/// <summary>Rotary-embedding helpers shared by the vision tower and the text decoder.</summary>
public static class Rotary
{
    /// <summary>
    /// <c>rotate_half</c> of HF: splits the last dimension in two halves (x1, x2) and returns (-x2, x1).
    /// </summary>
    public static Tensor RotateHalf(Tensor x)
    {
        long half = x.shape[^1] / 2;
        using var x1 = x.narrow(-1, 0, half);
        using var x2 = x.narrow(-1, half, half);
        using var neg = -x2;
        return cat([neg, x1], -1);
    }
}
