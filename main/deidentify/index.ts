// The de-identification domain (DICOM PS3.15 Basic Profile; README.md): used by the DICOM exports.
export { Deidentifier, burnedInWarnings, shiftDate, type DatesOption, type DeidentifyOptions, type TagDict } from './deidentify';
export { DeidentifyError, deidentifyPart10 } from './part10';
