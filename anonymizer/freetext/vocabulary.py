"""Descriptor vocabulary: words that are never taken for a person's name.

Name lists contain ordinary words (Long, Hand, Head, White, Rose, May, Mark...), and
the series and study descriptions of real studies are made of anatomy, modalities,
sequences, protocol words and medical eponyms. Every word here is subtracted from the
name list of :mod:`.names`; a word that is both (a surname such as "Long") is only
reported as a name when the text says it is one (a title such as "Dr", or next to an
unambiguous name: "Anna Long").

Data only: lower-case words, grouped by what they are. Compound eponyms are listed
whole ("hill-sachs") and by part.
"""

from __future__ import annotations

__all__ = ["DESCRIPTOR_WORDS", "EPONYMS", "TECHNICAL_LETTERS"]


def _words(text: str) -> frozenset[str]:
    return frozenset(word.lower() for word in text.split())


ANATOMY = _words(
    """
    head neck face skull brain cerebrum cerebellum brainstem pons midbrain medulla
    thalamus hypothalamus pituitary sella hypophysis iac iacs cochlea orbit orbits eye eyes
    globe sinus sinuses paranasal nose nasal mandible maxilla jaw teeth tooth dental
    tmj temporal frontal parietal occipital mastoid petrous facial larynx pharynx
    nasopharynx oropharynx hypopharynx tongue thyroid parathyroid salivary parotid
    submandibular carotid carotids jugular vertebral basilar willis circle aorta aortic
    arch chest thorax thoracic lung lungs pulmonary heart cardiac coronary coronaries
    mediastinum pleura pleural breast breasts mammary axilla axillary rib ribs sternum
    clavicle scapula shoulder shoulders humerus elbow forearm radius ulna wrist hand hands
    finger fingers thumb digit digits carpal metacarpal phalanx phalanges abdomen
    abdominal abd pelvis pelvic liver hepatic biliary gallbladder pancreas pancreatic
    spleen splenic kidney kidneys renal adrenal adrenals ureter ureters bladder urinary
    prostate uterus uterine ovary ovaries ovarian adnexa cervix vagina rectum rectal
    colon colonic bowel small large intestine stomach gastric duodenum jejunum ileum
    esophagus oesophagus oesophageal esophageal appendix peritoneum retroperitoneum
    mesentery hip hips femur femoral knee knees patella tibia fibula ankle ankles foot
    feet toe toes heel calcaneus talus tarsal metatarsal spine spinal cervical lumbar
    sacral sacrum coccyx sacroiliac si cord disc discs disk vertebra vertebrae bone bones
    joint joints muscle muscles tendon tendons ligament ligaments cartilage meniscus
    menisci cruciate acl pcl mcl lcl rotator cuff labrum glenoid acetabulum iliac pubic
    symphysis groin inguinal scrotum testis testes testicle testicular penis perineum
    extremity extremities limb limbs arm arms leg legs thigh calf upper lower whole body
    vessel vessels artery arteries arterial vein veins venous portal hepatic vena cava
    ivc svc lymph node nodes soft tissue tissues skin scalp fat vascular neuro nerve
    nerves plexus brachial sciatic optic trigeminal facial acoustic internal external
    auditory canal canals ear ears inner middle temporal bones wall walls cavity fossa
    posterior anterior ventricle ventricles atrium atria valve valves mitral tricuspid
    myocardium pericardium apex base septum hilum hila airway airways trachea bronchus
    bronchi diaphragm chestwall flank flanks buttock gluteal sacroiliac hand-wrist
    cerebral intracranial extracranial cranial craniofacial maxillofacial facial
    pelvic-floor pelviabdominal thoracoabdominal abdominopelvic heart-lung chest-abdomen
    abdomen-pelvis chest-abdomen-pelvis ortho msk body cap tap neuroaxis total
    """
)

MODALITIES = _words(
    """
    ct cta ctp ctv ctu cte ctc mr mri mra mrv mrcp mre mrs mrs1 fmri dti dwi adc pwi
    swi swan pet pet-ct petct pet-mr spect nm us usg doppler echo tte tee xr dx cr rf
    xa dsa angio angiogram angiography fluoro fluoroscopy mg mammo mammogram mammography
    tomo tomosynthesis dbt bmd dexa dxa ot sc pr sr ko io px op oct es gm sm xc ivus
    cbct ercp ptc ivp ivu kub barium swallow enema meal follow-through sialogram
    arthrogram arthrography myelogram myelography venogram venography urogram urography
    cystogram cystography hysterosalpingogram hsg scan scans study studies exam
    examination image images imaging scout localizer localiser locator topogram
    surview scanogram survey plain film films radiograph radiographs radiography xray
    x-ray xrays x-rays ultrasound sonography sonogram elastography shearwave shear wave
    nuclear medicine bone-scan scintigraphy scintigram gallium octreotide mibg mibi
    sestamibi tetrofosmin fdg psma dotatate dotatoc choline fluciclovine amyloid tau
    florbetapir flortaucipir fdopa dopa datscan ioflupane hida maa dtpa dmsa mag3 mdp
    hmpao ecd thallium technetium tc99m tc-99m 99mtc iodine i-131 i131 i123 f18 18f
    18f-fdg ga68 68ga ga-68 lu177 rubidium rb82 n13 ammonia o15 c11 cu64 zr89 in111
    """
)

SEQUENCES = _words(
    """
    t1 t2 t1w t2w t1-weighted t2-weighted pd pdw pd-weighted flair stir tirm tir fse tse
    se ge gre spgr fspgr bravo mprage mp-rage mp2rage space cube vista fiesta fiesta-c
    trufi truefisp fisp bffe balanced ssfp ssfse haste blade propeller multivane vibe
    lava thrive starvibe radial stack-of-stars dixon ideal mdixon flex water fat in-phase
    out-phase opposed-phase in opp op ip wateronly fatonly ffe tfe epi ep2d ss-epi resolve
    readout-segmented rs-epi dwi diffusion b0 b50 b100 b400 b500 b800 b1000 b1400 b1500
    b2000 adc eadc exp trace tracew dti tensor fa md tractography tof 2dtof 3dtof
    time-of-flight pc phase contrast phase-contrast venc qflow flow cine cines tagging tag
    lge psir mag magn magnitude perfusion dsc dce asl pcasl pasl bold fmri resting
    spectroscopy svs csi press steam mt mtc swi swan swip veno bold venobold susceptibility
    sw qsm t2* t2star t2-star t2map t1map t2-map t1-map mapping molli shmolli t1rho
    gradient echo spin-echo fast turbo ir inversion recovery double triple dir sir
    medic merge cosmic frfse frfse-xl fsems sems gems mems vibrant lavaflex lava-flex
    disco twist tricks trak keyhole care bolus bolus-tracking tracking test timing
    scout survey calibration coil sense asset grappa ipat arc hyperband sms caipirinha
    cs compressed sparse deep dl deeplearning air airrecon recon mip minip mpr mprs
    mip-ax mip-cor vr vrt volume-rendering rendering surface ssd 3d 2d 4d 3dt1 3dt2
    3d-t1 3d-t2 3dflair 3d-flair sag3d ax3d cor3d nex etl tr te ti tr/te fov matrix
    bandwidth bw slice slices thickness thick thin spacing gap pitch kernel filter
    iterative asir asir-v adaptive admire safire idose idose4 aidr aidr3d aice mbir
    veo truefidelity dlir precise hd hr uhr std standard sharp smooth soft detail edge
    lung bone brain body mediastinal medium bonewindow lungwindow ceus cdus
    rao lao rpo lpo cran caud roadmap rotational dyna-ct xper
    """
)

PROTOCOL = _words(
    """
    ax axi axial axl tra trans transverse transversal cor coronal sag sagittal obl oblique
    obliq double-oblique mpr reformat reformats reformatted reconstruction recon recons
    reco mip minip 3d vr dual dual-energy de spectral mono monoenergetic kev vmi rho z
    iodine-map virtual non-contrast vnc unenhanced enhanced non nc noncontrast wo w/o w/
    with without contrast iv oral rectal post pre postcontrast precontrast post-contrast
    pre-contrast gd gad gado gadolinium gadavist dotarem prohance multihance eovist
    primovist magnevist clariscan omniscan iv-contrast omnipaque visipaque iohexol
    iopamidol isovue ultravist iodixanol optiray contrast-enhanced ce c+ c- arterial
    art early late phase phases delayed delay equilibrium nephrographic excretory
    urographic portal portal-venous pv pvp venous hepatic-arterial late-arterial
    multiphase multi-phase triphasic biphasic dynamic dyn dyna dynamics subtraction sub
    subs subtracted washout wash-in uptake mask fill run runs bolus injection inj
    timing native plain routine standard std protocol prot series seq sequence sequences
    localizer loc locs scout scouts survey tri-plane 3-plane 3pl plane planes thin thick
    thins slab slabs stack stacks volume vol volumetric helical spiral axial-helical
    sequential step-and-shoot gated ecg ecg-gated gating triggered prospective
    retrospective cardiac calcium score scoring cac agatston fluoro cine breath breathhold
    bh bh1 fb free-breathing free breathing nav navigator navigated resp respiratory
    trigger triggering inspiration expiration insp exp inspiratory expiratory prone
    supine decubitus lateral lat ap pa oblique frog frog-leg frogleg weight weightbearing
    weight-bearing standing erect upright flexion extension flex ext stress neutral
    view views vw proj projection projections rt lt right left bilat bilateral bil unilat
    unilateral r l both side sided ipsilateral contralateral mid medial lateral proximal
    distal superior inferior sup inf caudal cranial cephalad caudad head-first feet-first
    hfs ffs hfp ffp whole wholebody wb full partial limited complete comp focused
    targeted screening diagnostic diag follow-up followup fu f/u fup initial baseline
    pre-op preop post-op postop intraop intraoperative peri-op repeat rpt redo retake
    additional add extra supplementary special spot mag magnification compression tangent
    tangential cc mlo ml lm xccl xccm rcc lcc rmlo lmlo implant implants id eklund
    stereotactic stereo biopsy guided guidance guide localization localisation needle
    wire marker clip drain drainage aspiration fna core injection block ablation rfa
    mwa cryo embolization embolisation stent stenting angioplasty thrombectomy
    thrombolysis coiling tips port picc line catheter cath cvc tube ng peg gtube
    intervention interventional procedure proc guided ir vir pain joint arthro
    emergency er ed trauma polytrauma acute stroke code-stroke code codestroke pe
    pulmonary-embolism dissection aneurysm aaa tavi tavr evar tevar runoff run-off
    peripheral carotids circle-of-willis cow willis venogram venous-sinus sinus
    ent iac iacs pituitary sella orbits face facial sinuses temporal-bones dental
    panorex panoramic ceph cephalometric opg cone-beam cone beam
    low dose low-dose ldct ld uld ultra-low high resolution hrct hr hi-res highres
    inspiration-expiration prone-supine colonography virtual-colonoscopy vc cologram
    enterography enteroclysis urogram cystogram ivp kub abdomen-pelvis ap/pa
    mip/mpr axial/coronal ax/cor ax/sag cor/sag
    a b c d e f g h i j k l m n o p q r s t u v w x y z
    i ii iii iv v vi vii viii ix x xi xii
    """
)

PATHOLOGY_AND_FINDINGS = _words(
    """
    normal abnormal lesion lesions mass masses tumor tumour tumors tumours cancer
    carcinoma metastasis metastases mets met staging stage restaging re-staging
    surveillance response treatment therapy radiotherapy rt planning plan sim simulation
    fracture fractures fx dislocation sprain tear tears rupture injury injuries trauma
    infection abscess inflammation arthritis osteoarthritis oa ra gout effusion edema
    oedema hemorrhage haemorrhage bleed bleeding hematoma haematoma infarct infarction
    ischemia ischaemia stroke tia embolus embolism thrombus thrombosis dvt pe stenosis
    occlusion aneurysm dissection malformation avm cyst cysts nodule nodules polyp
    polyps stone stones calculus calculi obstruction hernia appendicitis diverticulitis
    pancreatitis cholecystitis colitis pneumonia pneumothorax consolidation collapse
    atelectasis fibrosis ild copd emphysema bronchiectasis sarcoid sarcoidosis
    tuberculosis tb covid covid-19 sars pain headache seizure epilepsy dementia ms
    demyelination hydrocephalus shunt vp ventriculoperitoneal congenital anomaly
    pediatric paediatric peds paeds neonatal neonate infant child children adult
    pregnancy pregnant obstetric ob fetal foetal fetus first second third trimester
    gestational nt anomaly-scan growth biophysical bpp placenta cervical-length
    gynecologic gynaecologic gyn pelvic-us transvaginal tv tvus transabdominal ta
    transrectal trus scrotal thyroid-us neck-us abdominal-us renal-us liver-us
    hepatobiliary ruq luq rlq llq epigastric periumbilical suprapubic
    query ? r/o rule out ro eval evaluation assess assessment check review
    history hx clinical indication indications
    """
)

ORIENTATION_AND_DESCRIPTOR_WORDS = _words(
    """
    a an the of and or to for in on at by with without from into over under per via
    as is no not yes all any each every only other same new old more less most least
    up down top bottom front back outer inner centre center central peripheral deep
    superficial long short longitudinal trans short-axis long-axis sa la hla vla 2ch 3ch
    4ch 2-chamber 3-chamber 4-chamber lvot rvot ao pa mpa lv rv la ra lvef ef sax lax
    axis axes angle angled tilt tilted straight curved curve cpr rotation rotate rotated
    series image images img imgs frame frames slice slices part parts section sections
    set sets group group1 range block blocks window windows level levels wl ww
    setting settings preset presets default auto automatic manual custom user
    original primary secondary derived other report reports summary key keyimage
    key-images snapshot screen screenshot capture save saved export exported dose
    report dose-report dlp ctdi ctdivol mgy mgycm mgy*cm dlp/ctdi exposure
    patient protocol page pages info information data raw processed processing final
    prelim preliminary draft corrected correction copy duplicate test qa qc phantom
    calibration service demo sample example teaching case anonymous anonymised
    anonymized unknown none na n/a tbd misc miscellaneous various general gen routine
    and/or high low medium mid small big large fine coarse fast slow quick rapid
    short long extended ext ultra super hyper hypo iso isotropic anisotropic
    black white grey gray color colour colored coloured map maps fused fusion
    overlay overlays registered registration co-registered hybrid combined comb
    merged stitched stitch composite panorama pano full-spine full-leg long-leg
    scoliosis alignment leg-length length lengths measurement measurements
    rose may mark marks marker markers will hill green bell cross cross-table major
    minor wall field fields ray rays star stars pole poles port ports pool blood stone
    stones well ill sick
    march april june july august jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday morning evening night
    day days week weeks month months year years hour hours minute minutes min mins
    sec secs second seconds time times timed dated date
    feature features demonstration demo example examples sample samples test tests
    testing display displayed secondary capture captured document documents pdf
    encapsulated structured note notes comment comments result results finding
    findings impression conclusion request requested order ordered scheduled performed
    acquired acquisition acquisitions reference referenced presentation state states
    mask masks segmentation segment segments label labels annotation annotations roi
    rois measurement region regions lesion target targets volume volumes analysis
    quantitative quant perfusion function functional cardiac vascular cine loop loops
    clip clips movie video frames frame multi multiframe multi-frame single enhanced
    legacy converted conversion import imported export outside foreign external
    prior priors previous current comparison compare
    mm cm ml cc kg g mg mcg ug kv kvp ma mas ms s t hz khz mhz fps bpm deg degree
    degrees hu keV kev mev gy mgy msv sv ct1 ct2
    """
)

#: Medical eponyms: names of people that are ordinary words of a report.
EPONYMS = _words(
    """
    colles smith barton monteggia galeazzi chauffeur hutchinson bennett rolando boxer
    jones lisfranc chopart maisonneuve tillaux segond bankart hill-sachs hill sachs
    perthes legg-calve-perthes legg calve osgood schlatter osgood-schlatter sinding
    larsen sinding-larsen-johansson johansson kienbock kienböck preiser freiberg kohler
    köhler sever scheuermann blount baker pellegrini-stieda pellegrini stieda
    stener gamekeeper salter salter-harris harris weber lauge-hansen lauge hansen
    garden pipkin denis magerl chance jefferson hangman anderson dalonzo schatzker
    neer gustilo tscherne hawkins sanders essex-lopresti essex lopresti
    crohn crohns crohn's hodgkin hodgkins hodgkin's non-hodgkin wilms wilm ewing ewings
    ewing's kaposi burkitt waldenstrom waldenström castleman langerhans erdheim chester
    erdheim-chester rosai dorfman rosai-dorfman krukenberg klatskin kasabach merritt
    kasabach-merritt budd chiari budd-chiari arnold arnold-chiari dandy walker
    dandy-walker paget pagets paget's graves hashimoto hashimotos hashimoto's de-quervain
    quervain riedel cushing cushings cushing's addison addisons addison's conn conns
    meckel meckels meckel's hirschsprung hirschsprungs wilson wilsons wilson's alzheimer
    alzheimers alzheimer's parkinson parkinsons parkinson's huntington huntingtons
    huntington's creutzfeldt jakob creutzfeldt-jakob pick binswanger lewy guillain
    barre guillain-barre charcot marie tooth charcot-marie-tooth bell bells bell's
    sturge weber sturge-weber von hippel lindau von-hippel-lindau vhl recklinghausen
    bourneville tuberous moyamoya takayasu kawasaki wegener behcet behçet sjogren
    sjögren reiter marfan ehlers danlos ehlers-danlos turner klinefelter down downs
    edwards patau noonan williams digeorge prader willi prader-willi angelman
    duchenne becker gaucher niemann fabry hurler hunter morquio tay sachs tay-sachs
    krabbe canavan alexander zellweger leigh kearns sayre menkes
    whipple whipple's zenker zenkers zenker's mallory weiss mallory-weiss boerhaave
    barrett barretts barrett's schatzki plummer vinson plummer-vinson killian
    caroli mirizzi bouveret courvoisier murphy murphys murphy's mcburney rovsing
    cullen grey-turner turner morison morisons morison's douglas douglas' winslow
    glisson couinaud cantlie treitz oddi vater wirsung santorini
    willis circle-of-willis sylvian sylvius monro magendie luschka galen rosenthal
    labbe trolard virchow robin virchow-robin meynert broca wernicke heschl rolandic
    rolando brodmann purkinje schwann schwannoma meningioma
    baker bakers baker's bartholin bartholins nabothian gartner skene cowper
    morton mortons morton's haglund haglunds haglund's achilles sever
    hoffa hoffas hoffa's kager stieda os trigonum wrisberg humphry
    ranvier poland sprengel klippel feil klippel-feil madelung kirner
    monteggia volkmann sudeck charcot charcots charcot's neuropathic dupuytren
    dupuytrens ledderhose peyronie peyronies
    swyer-james macleod kartagener mounier-kuhn mounier kuhn caplan loffler löffler
    goodpasture churg strauss churg-strauss hamman rich hamman-rich pancoast horner
    westermark hampton fleischner kerley golden luftsichel
    fallot eisenmenger ebstein ebsteins ebstein's kommerell scimitar shone
    takotsubo brugada wolff parkinson-white wpw loeys dietz loeys-dietz
    stanford debakey crawford leriche nutcracker may-thurner thurner paget-schroetter
    schroetter wilkie dunbar
    bosniak lirads li-rads birads bi-rads tirads ti-rads pirads pi-rads orads o-rads
    lung-rads cad-rads fleischner glasgow hounsfield agatston gleason
    fisher hunt hess spetzler martin spetzler-martin aspects mrs nihss
    port-a-cath philadelphia boston scoliosis cobb risser ferguson stagnara
    judet letournel tile young-burgess burgess pauwels delbet
    """
)

#: Eponyms that name a technique or a device, never a patient's disease: descriptor words.
TECHNIQUE_EPONYMS = _words(
    """
    hounsfield roentgen röntgen doppler fourier larmor bloch hahn carr purcell
    meiboom gill cpmg dixon fisp lorentz gauss tesla seldinger swan-ganz foley hickman
    broviac groshong kirschner k-wire steinmann harrington luque jewett milwaukee
    """
)

#: Single letters that technical tokens are built from (T1, b800, C2-C3, L4/5).
TECHNICAL_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")

#: Every word of a descriptor that is not taken for a name on its own.
DESCRIPTOR_WORDS: frozenset[str] = (
    ANATOMY
    | MODALITIES
    | SEQUENCES
    | PROTOCOL
    | PATHOLOGY_AND_FINDINGS
    | ORIENTATION_AND_DESCRIPTOR_WORDS
    | EPONYMS
    | TECHNIQUE_EPONYMS
)
