/**
 * Image-folder datasets (`DIR/train/<class>/*`, `DIR/val/<class>/*`, or one folder split
 * by a seeded fraction), listed like torchvision's `ImageFolder` and streamed from disk:
 * decoded with sharp, resized/cropped/augmented and normalised in worker threads.
 *
 * @packageDocumentation
 */

export {
  type ImageFolder,
  type ImageFolderSplit,
  type ImageFolderLayout,
  type ScanImageFolderOptions,
  type SkippedFiles,
  IMAGE_EXTENSIONS,
  UNSUPPORTED_IMAGE_EXTENSIONS,
  MAX_CLASSES,
  scanImageFolder,
  describeImageFolder,
} from './scan.js';
export {
  type FolderAugmentation,
  type ImageFolderStreamOptions,
  type ImageFolderStreamStats,
  type ImageFolderSourcesOptions,
  IMAGENET_NORMALIZATION,
  IMAGENET_GREY_NORMALIZATION,
  ImageFolderStream,
  openImageFolderSources,
  detectChannels,
  liveImageFolderWorkers,
} from './stream.js';
export { type ResizeKernel } from './decode.js';
export {
  type CropBox,
  type RandomResizedCropOptions,
  RRC_DEFAULT_SCALE,
  RRC_DEFAULT_RATIO,
  pythonRound,
  compareCodePoints,
  resizeShorterSide,
  evalResizeSize,
  centerCropBox,
  randomResizedCropBox,
  convertChannels,
} from './transforms.js';
