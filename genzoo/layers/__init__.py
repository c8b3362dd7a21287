"""Published building blocks that are techniques of their own, not one network's internals: MDC (IAN), minibatch
discrimination and minibatch standard deviation, AdaIN (StyleGAN-lite, style transfer), equalized learning rate."""

from genzoo.layers.adain import adain, adain_transfer, channel_mean_std
from genzoo.layers.equalized import EqualizedConv2d, EqualizedLinear
from genzoo.layers.mdc import MDCBlock
from genzoo.layers.minibatch import MinibatchDiscrimination, MinibatchStdDev

__all__ = ["MDCBlock", "MinibatchDiscrimination", "MinibatchStdDev", "EqualizedConv2d", "EqualizedLinear", "adain",
           "adain_transfer", "channel_mean_std"]
